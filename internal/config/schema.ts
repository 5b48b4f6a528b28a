import { z } from 'zod';
import { address, addressList, apiTokens, bool, byteSize, cronLine, duration, int, isCidr, list, optionalString, rate, splitHostPort } from './fields.js';

/**
 * Where every setting is declared, once: its field in the file format, its environment variable, and the place
 * it takes in the typed {@link Config} the components read. A new setting is a field in {@link fileSchema}, a line
 * in {@link ENV_VARS}, and a line in {@link shapeConfig}; nothing else repeats it. The README's configuration table
 * and `configs/config.json` document the same names (a test keeps them in step).
 */

/**
 * The file format (configs/config.json and the file named in APP_CONFIG): nested by section, snake_case. Defaults
 * live in configs/config.json, and the schema repeats them so that a missing file still yields a working local setup.
 */
export const fileSchema = z
  .object({
    app: z
      .object({
        /** `local` or `production`; production refuses to start without API tokens. Default `local`. */
        env: z.enum(['local', 'production']).default('local'),
        /** pino level. Default `info`. */
        log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        /** API listen address, `host:port` or `:port`. Default `:8081`. */
        http_addr: address({ allowPortZero: true }).default(':8081'),
        /** Stream mode when Redis is reachable, polling mode otherwise. Default true. */
        enable_redis_queue: bool().default(true),
        /** Stream name, also the prefix of every derived Redis key. Default `vigil:task:queue`. */
        task_queue_stream: z.string().min(1).max(200).default('vigil:task:queue'),
        /** Consumer group. Default `scheduler_group`. */
        task_queue_group: z.string().min(1).max(200).default('scheduler_group'),
        /** Publisher and poller tick. Default 1s. */
        schedule_interval: duration({ min: 10 }).default(1000),
        /** Concurrent runs per process. Default 50. */
        worker_pool_size: int(1, 10_000).default(50),
        /** Tasks buffered in a process beyond the running ones. Default 1000. */
        queue_capacity: int(0, 1_000_000).default(1000),
        /** Rows or stream entries fetched at once. Default 100. */
        queue_batch_size: int(1, 10_000).default(100),
        /** Idle time before a stalled stream entry is reclaimed by another consumer. Default 30s. */
        pending_idle: duration({ min: 10 }).default(30_000),
        /** Task types this process runs, as comma-separated globs. Default `*`. */
        allowed_types: list().default(['*']),
        /**
         * Bearer tokens: bare tokens (scope `write`) or `name:token:scope` entries (scope `read` or `write`); empty
         * means no auth (logged as a warning).
         */
        api_tokens: apiTokens().default([]),
        /** API requests allowed per token (per client address without tokens): `20/s`, `600/m`, or `off`. Default 20/s. */
        rate_limit: rate().default({ count: 20, perMs: 1000 }),
        /** Requests a token may make at once; the average stays at `rate_limit`. Default twice the rate per second. */
        rate_limit_burst: int(1, 1_000_000).optional(),
        /** How long run history and dead letters are kept. Default 7d. */
        run_retention: duration({ min: 1000 }).default(7 * 24 * 3600 * 1000),
        /** Whether cmd/api embeds a scheduler and publisher. Default true. */
        run_scheduler: bool().default(true),
        /** When a run whose executor went silent is run again. Default 60s. */
        recovery_timeout: duration({ min: 100 }).default(60_000),
        /** How long a stopping process waits for runs in flight. Default 30s. */
        shutdown_timeout: duration({ min: 0 }).default(30_000),
        /** Delay before the second attempt of a failed slot; it doubles with each attempt, with jitter. Default 1s. */
        retry_base_delay: duration({ min: 1 }).default(1000),
        /** Upper bound of a retry delay. Default 5m. */
        retry_max_delay: duration({ min: 1 }).default(300_000),
        /** /queue turns `degraded` when the oldest waiting work is this old. Default 1m. */
        queue_degraded_age: duration({ min: 1 }).default(60_000),
        /** /queue turns `unhealthy` when the oldest waiting work is this old. Default 5m. */
        queue_unhealthy_age: duration({ min: 1 }).default(300_000),
        /** /queue turns `degraded` when this much work waits (stream lag, or due rows when polling). Default 1000. */
        queue_degraded_backlog: int(1, 100_000_000).default(1000),
        /** /queue turns `unhealthy` when this much work waits. Default 10000. */
        queue_unhealthy_backlog: int(1, 100_000_000).default(10_000),
        /** HMAC key for signing webhook bodies. */
        webhook_secret: optionalString(),
        /**
         * Cap on a run's stored output and on each notification body, in bytes of JSON: a larger output is cut there
         * and flagged `output_truncated`. Default 256KiB.
         */
        max_output_bytes: byteSize({ min: 1024, max: 1024 ** 3 }).default(256 * 1024),
        /** Delivery attempts of one webhook notification before it is given up. Default 8. */
        webhook_max_attempts: int(1, 100).default(8),
        /** Delay before the second delivery attempt; it doubles each time, up to 10 min. Default 5s. */
        webhook_retry_base_delay: duration({ min: 1 }).default(5000),
        /** Addresses the `http` type must never fetch (CIDRs). Default: link-local and metadata ranges. */
        http_deny_cidrs: list()
          .refine((cidrs) => cidrs.every(isCidr), { message: 'must be a comma-separated list of CIDRs such as 169.254.0.0/16' })
          .default(['169.254.0.0/16', 'fe80::/10', 'fd00:ec2::254/128']),
        /** Chromium for the `browser` type; unset looks for Debian's /usr/bin/chromium and a few usual places. */
        browser_path: optionalString(),
        /** Pages the `browser` type renders at once per process. Default 2. */
        browser_concurrency: int(1, 64).default(2),
        /**
         * Requests in flight at once to one target host, counted across every process (`http` and `browser` runs,
         * webhook and channel deliveries); 0 turns the limit off. Default 4.
         */
        host_concurrency: int(0, 10_000).default(4),
        /** Requests started per host, across every process: `5/s`, `60/m`, or `off`. Default 5/s. */
        host_rate: rate().default({ count: 5, perMs: 1000 }),
        /** Where people reach this Vigil (`https://vigil.example.com`): links in notifications point under it. */
        public_url: optionalString().pipe(
          z.url({ protocol: /^https?$/, error: 'must be an http or https URL such as https://vigil.example.com' }).optional(),
        ),
        /** Where a scheduler-only process serves /metrics and /healthz; unset serves nothing. */
        metrics_addr: optionalString().pipe(address({ allowPortZero: true }).optional()),
        /** The dashboard shows but cannot act: it hides every action and the API refuses its changes. Default false. */
        ui_read_only: bool().default(false),
      })
      .strict()
      .prefault({}),
    mysql: z
      .object({
        /** `mysql://user:pass@host:3306/db`; when unset the embedded SQLite store is used. */
        dsn: optionalString(),
        /** Connections in the pool. Default 10. */
        pool_size: int(1, 1000).default(10),
        /** How long to wait for a connection before the store counts as unreachable. Default 2s. */
        connect_timeout: duration({ min: 100 }).default(2000),
      })
      .strict()
      .prefault({}),
    sqlite: z
      .object({
        /** The embedded database file. Default `data/vigil.db`. */
        path: z.string().min(1).default('data/vigil.db'),
      })
      .strict()
      .prefault({}),
    housekeeping: z
      .object({
        /** node-cron line for stream trimming. Default every 30 s. */
        trim_schedule: cronLine().default('*/30 * * * * *'),
        /** node-cron line for deleting run history and dead letters past retention. Default every 10 min. */
        retention_schedule: cronLine().default('0 */10 * * * *'),
        /** node-cron line for removing idle consumers with nothing pending. Default every 5 min. */
        consumer_cleanup_schedule: cronLine().default('0 */5 * * * *'),
        /** A consumer idle this long with nothing pending is removed. Default 1h. */
        consumer_idle: duration({ min: 1000 }).default(3_600_000),
        /** Rows deleted per statement by retention. Default 1000. */
        retention_batch: int(1, 100_000).default(1000),
      })
      .strict()
      .prefault({}),
    redis: z
      .object({
        /** A single Redis, `host:port`. Set exactly one of `addr`, `cluster_nodes` and `sentinels`; none means no stream mode. */
        addr: optionalString().pipe(address({ allowPortZero: false, portOptional: true }).optional()),
        /** Seed nodes of a Redis Cluster, comma-separated `host:port`; the rest of the cluster is discovered from them. */
        cluster_nodes: addressList().optional(),
        /** Sentinels watching the master, comma-separated `host:port` (port 26379 when left out). */
        sentinels: addressList().optional(),
        /** The master's name as the sentinels know it (`sentinel monitor <name> …`). Default `mymaster`. */
        sentinel_master: z.string().trim().min(1).max(200).default('mymaster'),
        /** The sentinels' own password (`requirepass` on the sentinels), when they have one. */
        sentinel_password: optionalString(),
        /** Redis's password (AUTH), for a single Redis, every cluster node, or the master and replicas behind Sentinel. */
        password: optionalString(),
        /** TLS to Redis (and to the sentinels). Default false. */
        tls: bool().default(false),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type FileConfig = z.output<typeof fileSchema>;

/** Environment variable → path in the config file. This table is the whole list of variables Vigil reads. */
export const ENV_VARS = {
  APP_ENV: ['app', 'env'],
  APP_LOG_LEVEL: ['app', 'log_level'],
  APP_HTTP_ADDR: ['app', 'http_addr'],
  MYSQL_DSN: ['mysql', 'dsn'],
  MYSQL_POOL_SIZE: ['mysql', 'pool_size'],
  SQLITE_PATH: ['sqlite', 'path'],
  REDIS_ADDR: ['redis', 'addr'],
  REDIS_PASSWORD: ['redis', 'password'],
  REDIS_CLUSTER_NODES: ['redis', 'cluster_nodes'],
  REDIS_SENTINELS: ['redis', 'sentinels'],
  REDIS_SENTINEL_MASTER: ['redis', 'sentinel_master'],
  REDIS_SENTINEL_PASSWORD: ['redis', 'sentinel_password'],
  REDIS_TLS: ['redis', 'tls'],
  APP_ENABLE_REDIS_QUEUE: ['app', 'enable_redis_queue'],
  APP_TASK_QUEUE_STREAM: ['app', 'task_queue_stream'],
  APP_TASK_QUEUE_GROUP: ['app', 'task_queue_group'],
  APP_SCHEDULE_INTERVAL: ['app', 'schedule_interval'],
  APP_WORKER_POOL_SIZE: ['app', 'worker_pool_size'],
  APP_QUEUE_CAPACITY: ['app', 'queue_capacity'],
  APP_QUEUE_BATCH_SIZE: ['app', 'queue_batch_size'],
  APP_PENDING_IDLE: ['app', 'pending_idle'],
  APP_ALLOWED_TYPES: ['app', 'allowed_types'],
  APP_API_TOKENS: ['app', 'api_tokens'],
  APP_RATE_LIMIT: ['app', 'rate_limit'],
  APP_RATE_LIMIT_BURST: ['app', 'rate_limit_burst'],
  APP_RUN_RETENTION: ['app', 'run_retention'],
  APP_RUN_SCHEDULER: ['app', 'run_scheduler'],
  APP_RECOVERY_TIMEOUT: ['app', 'recovery_timeout'],
  APP_SHUTDOWN_TIMEOUT: ['app', 'shutdown_timeout'],
  APP_RETRY_BASE_DELAY: ['app', 'retry_base_delay'],
  APP_RETRY_MAX_DELAY: ['app', 'retry_max_delay'],
  APP_QUEUE_DEGRADED_AGE: ['app', 'queue_degraded_age'],
  APP_QUEUE_UNHEALTHY_AGE: ['app', 'queue_unhealthy_age'],
  APP_QUEUE_DEGRADED_BACKLOG: ['app', 'queue_degraded_backlog'],
  APP_QUEUE_UNHEALTHY_BACKLOG: ['app', 'queue_unhealthy_backlog'],
  APP_MAX_OUTPUT_BYTES: ['app', 'max_output_bytes'],
  APP_WEBHOOK_SECRET: ['app', 'webhook_secret'],
  APP_WEBHOOK_MAX_ATTEMPTS: ['app', 'webhook_max_attempts'],
  APP_WEBHOOK_RETRY_BASE_DELAY: ['app', 'webhook_retry_base_delay'],
  APP_HTTP_DENY_CIDRS: ['app', 'http_deny_cidrs'],
  APP_METRICS_ADDR: ['app', 'metrics_addr'],
  APP_BROWSER_PATH: ['app', 'browser_path'],
  APP_BROWSER_CONCURRENCY: ['app', 'browser_concurrency'],
  APP_HOST_CONCURRENCY: ['app', 'host_concurrency'],
  APP_HOST_RATE: ['app', 'host_rate'],
  APP_PUBLIC_URL: ['app', 'public_url'],
  APP_UI_READ_ONLY: ['app', 'ui_read_only'],
} as const satisfies Record<string, readonly [string, string]>;

export type EnvVarName = keyof typeof ENV_VARS;

/** `APP_CONFIG` names an extra JSON file; it is read by the loader, not stored in the config. */
export const CONFIG_FILE_ENV = 'APP_CONFIG';

/**
 * Rules that span fields. They read the merged input rather than the parsed config, so that they are reported
 * together with field errors instead of only once every field is valid.
 */
export function crossFieldProblems(input: {
  app?: Record<string, unknown>;
  mysql?: Record<string, unknown>;
  redis?: Record<string, unknown>;
}): string[] {
  const problems: string[] = [];
  problems.push(...redisTopologyProblems(input.redis ?? {}));
  const tokens = input.app?.api_tokens;
  const items: unknown[] = Array.isArray(tokens) ? tokens : typeof tokens === 'string' ? tokens.split(',') : [];
  const hasTokens = items.some((t) => typeof t === 'string' && t.trim() !== '');
  if (input.app?.env === 'production' && !hasTokens) {
    problems.push('APP_API_TOKENS (app.api_tokens): APP_ENV=production requires APP_API_TOKENS');
  }
  const dsn = input.mysql?.dsn;
  if (typeof dsn === 'string' && dsn.trim() !== '' && !/^mysql:\/\/[^/]+\/[^/?#]+/.test(dsn.trim())) {
    problems.push('MYSQL_DSN (mysql.dsn): must look like mysql://user:pass@host:3306/db');
  }
  return problems;
}

/**
 * Exactly one Redis topology: a single Redis, a Cluster or Sentinel. The messages name the variables, never their
 * values (a value may carry credentials).
 */
function redisTopologyProblems(redis: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const set = (key: string) => {
    const value = redis[key];
    return Array.isArray(value) ? value.some((v) => typeof v === 'string' && v.trim() !== '') : typeof value === 'string' && value.trim() !== '';
  };
  const chosen = REDIS_TOPOLOGIES.filter((t) => set(t.key)).map((t) => t.variable);
  if (chosen.length > 1) {
    problems.push(
      `${chosen.join(' and ')}: these name ${chosen.length} Redis topologies; set exactly one of REDIS_ADDR (a single Redis), REDIS_CLUSTER_NODES (a Cluster) or REDIS_SENTINELS (Sentinel)`,
    );
  }
  return problems;
}

const REDIS_TOPOLOGIES = [
  { key: 'addr', variable: 'REDIS_ADDR' },
  { key: 'cluster_nodes', variable: 'REDIS_CLUSTER_NODES' },
  { key: 'sentinels', variable: 'REDIS_SENTINELS' },
] as const;

/** A Redis node, `host:port`. */
export interface RedisNode {
  host: string;
  port: number;
}

/**
 * Where Redis is and how to reach it: one of three topologies, chosen by which of REDIS_ADDR, REDIS_CLUSTER_NODES
 * and REDIS_SENTINELS is set. Undefined when none is.
 */
export type RedisTarget = (
  | ({ topology: 'standalone' } & RedisNode)
  | { topology: 'cluster'; nodes: RedisNode[] }
  | { topology: 'sentinel'; sentinels: RedisNode[]; masterName: string; sentinelPassword: string | undefined }
) & { password: string | undefined; tls: boolean };

function toRedisTarget(redis: FileConfig['redis']): RedisTarget | undefined {
  const common = { password: redis.password, tls: redis.tls };
  const node = (defaultPort: number) => (addr: string): RedisNode => {
    const [host, port] = splitHostPort(addr, defaultPort);
    return { host: host === '' ? '127.0.0.1' : host, port };
  };
  if (redis.addr !== undefined) return { topology: 'standalone', ...node(6379)(redis.addr), ...common };
  if (redis.cluster_nodes !== undefined) {
    return { topology: 'cluster', nodes: redis.cluster_nodes.map(node(6379)), ...common };
  }
  if (redis.sentinels !== undefined) {
    return {
      topology: 'sentinel',
      sentinels: redis.sentinels.map(node(26379)),
      masterName: redis.sentinel_master,
      sentinelPassword: redis.sentinel_password,
      ...common,
    };
  }
  return undefined;
}

/**
 * The file's values in the shape the components read them, with durations in milliseconds, and the values derived
 * from several settings computed here, once.
 */
function shapeConfig(file: FileConfig) {
  const { app } = file;
  // Leases last half the recovery timeout, so that a dead executor's slot runs again within it (G2); a published
  // entry counts as queued for as long, after which the publisher offers the task again.
  const leaseMs = Math.max(100, Math.floor(app.recovery_timeout / 2));
  return {
    env: app.env,
    logLevel: app.log_level,
    http: toListenAddr(app.http_addr),
    /** Set when MYSQL_DSN is; otherwise the embedded SQLite store is used. */
    mysql:
      file.mysql.dsn === undefined
        ? undefined
        : { dsn: file.mysql.dsn, poolSize: file.mysql.pool_size, connectTimeoutMs: file.mysql.connect_timeout },
    sqlite: { path: file.sqlite.path },
    /** Set when REDIS_ADDR, REDIS_CLUSTER_NODES or REDIS_SENTINELS is: the topology and how to reach it. */
    redis: toRedisTarget(file.redis),
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
      /** APP_MAX_OUTPUT_BYTES: cap on a run's stored output and on notification bodies (bytes of JSON). */
      maxOutputBytes: app.max_output_bytes,
    },
    /** Derived from APP_RECOVERY_TIMEOUT: how long a lease, and a publisher's queue mark, last (ms). */
    leases: { leaseMs, queueMarkMs: leaseMs },
    /** Accepted bearer tokens with their names and scopes; empty means no authentication. */
    apiTokens: app.api_tokens,
    /**
     * The API's rate limit per token (or client address): `points` requests per window of `windowSeconds`, so that
     * up to the burst may come at once and the average stays at the rate. Undefined when APP_RATE_LIMIT is off.
     */
    rateLimit: toRateLimit(app.rate_limit, app.rate_limit_burst),
    runRetentionMs: app.run_retention,
    /** Thresholds of /queue's status: age of the oldest waiting work (ms) and size of the backlog. */
    queueHealth: {
      degradedAgeMs: app.queue_degraded_age,
      unhealthyAgeMs: app.queue_unhealthy_age,
      degradedBacklog: app.queue_degraded_backlog,
      unhealthyBacklog: app.queue_unhealthy_backlog,
    },
    housekeeping: {
      trimSchedule: file.housekeeping.trim_schedule,
      retentionSchedule: file.housekeeping.retention_schedule,
      consumerCleanupSchedule: file.housekeeping.consumer_cleanup_schedule,
      consumerIdleMs: file.housekeeping.consumer_idle,
      retentionBatch: file.housekeeping.retention_batch,
    },
    webhook: { secret: app.webhook_secret, maxAttempts: app.webhook_max_attempts, retryBaseDelayMs: app.webhook_retry_base_delay },
    httpDenyCidrs: app.http_deny_cidrs,
    /** The `browser` type: Chromium's path (undefined: look in the usual places) and pages rendered at once. */
    browser: { path: app.browser_path, concurrency: app.browser_concurrency },
    /**
     * Politeness towards target hosts, shared by every process: requests in flight at once (null: no limit) and
     * requests started per window (`count` per `perMs`; null: no limit).
     */
    hostLimits: {
      concurrency: app.host_concurrency === 0 ? null : app.host_concurrency,
      rate: app.host_rate,
    },
    /** Where a scheduler-only process serves /metrics and /healthz (APP_METRICS_ADDR); undefined serves nothing. */
    metricsHttp: app.metrics_addr === undefined ? undefined : toListenAddr(app.metrics_addr),
    /** APP_PUBLIC_URL: where people reach this Vigil; notification links point under it. Undefined leaves them out. */
    publicUrl: app.public_url,
    /** APP_UI_READ_ONLY: the dashboard hides every action, and the API refuses the changes the dashboard sends. */
    uiReadOnly: app.ui_read_only,
  };
}

/** The validated, frozen configuration every component receives. Its type is the schema's output. */
export const configSchema = fileSchema.transform((file) => deepFreeze(shapeConfig(file)));
export type Config = z.output<typeof configSchema>;

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

function toListenAddr(addr: string): { host: string | undefined; port: number } {
  const [host, port] = splitHostPort(addr, 0);
  return { host: host === '' ? undefined : host, port };
}

type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

function deepFreeze<T>(value: T): DeepReadonly<T> {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value as DeepReadonly<T>;
}
