import type { ApiTokenEntry } from './fields.js';
import type { RawConfig } from './schema.js';

/** The validated, frozen configuration every component receives. Durations are in milliseconds. */
export interface Config {
  readonly env: 'local' | 'production';
  readonly logLevel: RawConfig['app']['log_level'];
  readonly http: { readonly host: string | undefined; readonly port: number };
  /** Set when MYSQL_DSN is; otherwise the embedded SQLite store is used. */
  readonly mysql: { readonly dsn: string; readonly poolSize: number; readonly connectTimeoutMs: number } | undefined;
  readonly sqlite: { readonly path: string };
  /** Set when REDIS_ADDR is. */
  readonly redis: { readonly host: string; readonly port: number; readonly password: string | undefined } | undefined;
  readonly enableRedisQueue: boolean;
  readonly queue: {
    readonly stream: string;
    readonly group: string;
    readonly batchSize: number;
    readonly pendingIdleMs: number;
  };
  readonly scheduler: {
    readonly enabled: boolean;
    readonly intervalMs: number;
    readonly poolSize: number;
    readonly capacity: number;
    readonly allowedTypes: readonly string[];
    readonly recoveryTimeoutMs: number;
    readonly shutdownTimeoutMs: number;
    readonly retryBaseDelayMs: number;
    readonly retryMaxDelayMs: number;
  };
  /** Accepted bearer tokens with their names and scopes; empty means no authentication. */
  readonly apiTokens: readonly ApiTokenEntry[];
  /**
   * The API's rate limit per token (or client address): `points` requests per window of `windowSeconds`, so that
   * up to the burst may come at once and the average stays at the rate. Undefined when APP_RATE_LIMIT is off.
   */
  readonly rateLimit: { readonly points: number; readonly windowSeconds: number } | undefined;
  readonly runRetentionMs: number;
  /** Thresholds of /queue's status: age of the oldest waiting work (ms) and size of the backlog. */
  readonly queueHealth: {
    readonly degradedAgeMs: number;
    readonly unhealthyAgeMs: number;
    readonly degradedBacklog: number;
    readonly unhealthyBacklog: number;
  };
  readonly housekeeping: {
    readonly trimSchedule: string;
    readonly retentionSchedule: string;
    readonly consumerCleanupSchedule: string;
    readonly consumerIdleMs: number;
    readonly retentionBatch: number;
  };
  readonly webhook: { readonly secret: string | undefined; readonly maxAttempts: number; readonly retryBaseDelayMs: number };
  readonly httpDenyCidrs: readonly string[];
  /** Where a scheduler-only process serves /metrics and /healthz (APP_METRICS_ADDR); undefined serves nothing. */
  readonly metricsHttp: { readonly host: string | undefined; readonly port: number } | undefined;
}

export function toConfig(raw: RawConfig): Config {
  const { app } = raw;
  const { host, port } = toHttpAddr(app.http_addr);
  const redis = raw.redis.addr === undefined ? undefined : splitHostPort(raw.redis.addr);
  return deepFreeze({
    env: app.env,
    logLevel: app.log_level,
    http: { host, port },
    mysql:
      raw.mysql.dsn === undefined
        ? undefined
        : { dsn: raw.mysql.dsn, poolSize: raw.mysql.pool_size, connectTimeoutMs: raw.mysql.connect_timeout },
    sqlite: { path: raw.sqlite.path },
    redis:
      redis === undefined
        ? undefined
        : { host: redis[0] === '' ? '127.0.0.1' : redis[0], port: redis[1], password: raw.redis.password },
    enableRedisQueue: app.enable_redis_queue,
    queue: {
      stream: app.task_queue_stream,
      group: app.task_queue_group,
      batchSize: app.queue_batch_size,
      pendingIdleMs: app.pending_idle,
    },
    scheduler: {
      enabled: app.run_scheduler,
      intervalMs: app.schedule_interval,
      poolSize: app.worker_pool_size,
      capacity: app.queue_capacity,
      allowedTypes: app.allowed_types,
      recoveryTimeoutMs: app.recovery_timeout,
      shutdownTimeoutMs: app.shutdown_timeout,
      retryBaseDelayMs: app.retry_base_delay,
      retryMaxDelayMs: app.retry_max_delay,
    },
    apiTokens: app.api_tokens,
    rateLimit: toRateLimit(app.rate_limit, app.rate_limit_burst),
    runRetentionMs: app.run_retention,
    queueHealth: {
      degradedAgeMs: app.queue_degraded_age,
      unhealthyAgeMs: app.queue_unhealthy_age,
      degradedBacklog: app.queue_degraded_backlog,
      unhealthyBacklog: app.queue_unhealthy_backlog,
    },
    housekeeping: {
      trimSchedule: raw.housekeeping.trim_schedule,
      retentionSchedule: raw.housekeeping.retention_schedule,
      consumerCleanupSchedule: raw.housekeeping.consumer_cleanup_schedule,
      consumerIdleMs: raw.housekeeping.consumer_idle,
      retentionBatch: raw.housekeeping.retention_batch,
    },
    webhook: {
      secret: app.webhook_secret,
      maxAttempts: app.webhook_max_attempts,
      retryBaseDelayMs: app.webhook_retry_base_delay,
    },
    httpDenyCidrs: app.http_deny_cidrs,
    metricsHttp: app.metrics_addr === undefined ? undefined : toHttpAddr(app.metrics_addr),
  });
}

/**
 * A rate and a burst as one fixed window: the burst per window of burst/rate seconds (whole seconds, at least one,
 * as the limiter's Redis store counts in seconds). Without a burst it is twice the rate per second, at least 1.
 */
function toRateLimit(
  rate: { count: number; perMs: number } | null,
  burst: number | undefined,
): { points: number; windowSeconds: number } | undefined {
  if (rate === null) return undefined;
  const perSecond = (rate.count * 1000) / rate.perMs;
  const points = burst ?? Math.max(1, Math.round(perSecond * 2));
  return { points, windowSeconds: Math.max(1, Math.round(points / perSecond)) };
}

function toHttpAddr(addr: string): { host: string | undefined; port: number } {
  const [host, port] = splitHostPort(addr);
  return { host: host === '' ? undefined : host, port };
}

/** Splits `host:port`, `:port` or `[v6]:port`. */
export function splitHostPort(addr: string): [string, number] {
  const idx = addr.lastIndexOf(':');
  const host = idx < 0 ? addr : addr.slice(0, idx);
  const port = idx < 0 ? 6379 : Number(addr.slice(idx + 1));
  return [host.replace(/^\[(.*)\]$/, '$1'), port];
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
