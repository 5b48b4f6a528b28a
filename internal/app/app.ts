import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { createApiApp } from '../api/app.js';
import { type RateLimiter, memoryRateLimiter } from '../api/index.js';
import { type Config, redactConfig } from '../config/index.js';
import { createBrowserType, findChromium } from '../handlers/browser/index.js';
import { createHttpType } from '../handlers/http/index.js';
import { HandlerRegistry, noopType } from '../handlers/index.js';
import { OutboundPolicy } from '../handlers/outbound/index.js';
import { CHANNEL_KIND_NAMES, ChannelSender } from '../notify/index.js';
import { type Clock, systemClock } from '../platform/clock.js';
import { DbClock } from '../platform/db-clock.js';
import { toError } from '../platform/errors.js';
import { type Logger, createLogger } from '../platform/logger.js';
import { Metrics } from '../platform/metrics.js';
import { QueueInspector, type Scheduler, TaskHandoff } from '../scheduler/index.js';
import { type Store, dbTimeNow } from '../store/index.js';
import { RedisQueue } from '../taskqueue/index.js';
import { buildScheduler } from './build-scheduler.js';
import { findDashboardDir } from './dashboard-dir.js';
import { processHealthSource } from './health.js';
import { openConfiguredStore } from './store.js';
import { startOpsServer } from './ops-server.js';

export type AppRole = 'api' | 'scheduler';

/** How long a starting process waits for a first reading of the database's clock before it goes on without. */
const DB_CLOCK_START_WAIT_MS = 5000;

export interface AppOptions {
  role: AppRole;
  config: Config;
  logger?: Logger;
  clock?: Clock;
  /**
   * Task types beyond the built-in ones. Code that embeds Vigil registers its own types here; the built-in
   * types are added to this registry when missing.
   */
  registry?: HandlerRegistry;
}

/**
 * The composition root: builds every component from config, starts them in order and stops them in reverse.
 * Nothing else in the service creates connections or reads configuration.
 */
export class App {
  readonly config: Config;
  readonly logger: Logger;
  readonly metrics = new Metrics();
  readonly registry: HandlerRegistry;
  readonly worker: string;
  readonly store: Store;
  /** Addresses the http check and webhooks may reach (APP_HTTP_DENY_CIDRS). */
  readonly outbound: OutboundPolicy;
  /** Formats and delivers notifications (the scheduler's outbox, the API's channel tests). */
  readonly channelSender: ChannelSender;
  readonly scheduler: Scheduler | undefined;
  /** `/queue` and the queue gauges. */
  readonly queue: QueueInspector;
  private readonly clock: Clock;
  /** The database's clock, measured by this process (MySQL; unless a clock is given). */
  private readonly dbClock: DbClock | undefined;
  /** Redis, when configured: the broker every queue command goes through, and its health. */
  private readonly redis: RedisQueue | undefined;
  private server: Server | undefined;
  private stopping: Promise<void> | undefined;
  /** Why this process has no `browser` type (no Chromium), logged at start. */
  private browserUnavailable: string | undefined;

  constructor(private readonly options: AppOptions) {
    const { config } = options;
    this.config = config;
    this.logger = options.logger ?? createLogger({ level: config.logLevel, base: { role: options.role } });
    this.outbound = new OutboundPolicy(config.httpDenyCidrs);
    this.channelSender = new ChannelSender({ policy: this.outbound }, { webhookSecret: config.webhook.secret, publicUrl: config.publicUrl });
    this.registry = options.registry ?? new HandlerRegistry();
    if (!this.registry.has(noopType.name)) this.registry.register(noopType);
    if (!this.registry.has('http')) this.registry.register(createHttpType({ policy: this.outbound }));
    if (!this.registry.has('browser')) this.browserUnavailable = this.registerBrowserType();
    this.metrics.initKnownLabels({ taskTypes: this.registry.names(), channelKinds: CHANNEL_KIND_NAMES });
    this.worker = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

    this.store = openConfiguredStore(config);
    // One clock for everything this process compares with times in the store: the database's (G3). An embedded
    // SQLite file's clock is this process's own.
    if (options.clock === undefined && this.store.dialect === 'mysql') {
      const store = this.store;
      this.dbClock = new DbClock({ sample: () => dbTimeNow(store), logger: this.logger });
    }
    this.clock = options.clock ?? this.dbClock ?? systemClock;
    this.redis =
      config.redis === undefined
        ? undefined
        : new RedisQueue({
            target: config.redis,
            stream: config.queue.stream,
            group: config.queue.group,
            consumer: this.worker,
            logger: this.logger,
            now: () => this.clock.now(),
            // Another group whose consumers were all silent this long is gone (the consumer cleanup's own limit).
            trim: { foreignIdleMs: config.housekeeping.consumerIdleMs },
          });
    const runScheduler = options.role === 'scheduler' || config.scheduler.enabled;
    this.scheduler = runScheduler
      ? buildScheduler(
          {
            store: this.store,
            registry: this.registry,
            queue: this.redis,
            outbound: this.outbound,
            channelSender: this.channelSender,
            clock: this.clock,
            metrics: this.metrics,
            logger: this.logger,
          },
          config,
          this.worker,
        )
      : undefined;
    this.queue = new QueueInspector(
      {
        store: this.store,
        queue: this.redis,
        clock: this.clock,
        mode: () => this.scheduler?.mode,
        streamsEnabled: config.enableRedisQueue,
      },
      config.queueHealth,
    );
    this.metrics.setQueueProbe(() => this.queue.gaugeValues());
  }

  /**
   * Registers the `browser` type when a Chromium is found (APP_BROWSER_PATH, else the usual places); otherwise marks
   * it unavailable, so that a task of that type is refused with the reason. Returns that reason, or undefined.
   */
  private registerBrowserType(): string | undefined {
    const { browser } = this.config;
    const chromium = findChromium(browser.path);
    if (!chromium.found) {
      this.registry.markUnavailable('browser', chromium.reason);
      return chromium.reason;
    }
    this.registry.register(
      createBrowserType({ policy: this.outbound, executablePath: chromium.path, concurrency: browser.concurrency, logger: this.logger }),
    );
    return undefined;
  }

  /** The port the API listens on (after start), for tests that bind port 0. */
  get port(): number | undefined {
    const address = this.server?.address();
    return address !== null && typeof address === 'object' ? (address as AddressInfo).port : undefined;
  }

  async start(): Promise<void> {
    const { config, logger } = this;
    logger.info({ config: redactConfig(config), worker: this.worker }, `starting vigil ${this.options.role}`);
    if (this.browserUnavailable !== undefined) logger.warn(`the browser task type is not available: ${this.browserUnavailable}`);
    if (config.apiTokens.length === 0 && this.options.role === 'api') {
      logger.warn('APP_API_TOKENS is not set: the API accepts requests without authentication');
    }
    if (this.dbClock !== undefined) {
      // Measured before anything reads it; a database that is down now is measured as soon as it answers.
      await this.dbClock.syncAtStart(DB_CLOCK_START_WAIT_MS);
      await this.dbClock.start();
    }
    if (this.redis !== undefined) {
      await this.redis.connect();
      logger.info({ stream: this.redis.tag, enabled: config.enableRedisQueue }, 'task producer initialized');
    }
    await this.scheduler?.start();
    if (this.options.role === 'api') await this.listen();
    else if (config.metricsHttp !== undefined) await this.listenOps(config.metricsHttp);
  }

  /** A scheduler-only process's /metrics and /healthz. */
  private async listenOps(addr: { host: string | undefined; port: number }): Promise<void> {
    const { server, port } = await startOpsServer({ metrics: this.metrics, health: this.healthSource(), ...addr });
    this.server = server;
    this.logger.info({ addr: `${addr.host ?? '0.0.0.0'}:${port}` }, 'metrics listening');
  }

  private healthSource() {
    const { config } = this;
    return processHealthSource({
      store: this.store,
      redis: this.redis?.health,
      enableRedisQueue: config.enableRedisQueue,
      mode: () => this.scheduler?.mode,
    });
  }

  private async listen(): Promise<void> {
    const { config } = this;
    const dispatcher = new TaskHandoff(
      { store: this.store, broker: this.redis?.broker, scheduler: this.scheduler, metrics: this.metrics, logger: this.logger },
      { enableRedisQueue: config.enableRedisQueue, queueMarkMs: config.leases.queueMarkMs },
    );
    const app = createApiApp({
      store: this.store,
      queue: this.queue,
      registry: this.registry,
      dispatcher,
      health: this.healthSource(),
      logger: this.logger,
      metrics: this.metrics,
      clock: this.clock,
      channelSender: this.channelSender,
      apiTokens: config.apiTokens,
      rateLimiter: this.rateLimiter(),
      ui: { dir: findDashboardDir(), readOnly: config.uiReadOnly },
    });
    await new Promise<void>((resolve, reject) => {
      const server = app.listen(config.http.port, config.http.host ?? '0.0.0.0', () => resolve());
      server.once('error', reject);
      this.server = server;
    });
    this.logger.info({ addr: `${config.http.host ?? '0.0.0.0'}:${this.port}` }, 'api listening');
  }

  /**
   * The API's rate limit: shared through Redis when Redis is configured, on a connection of its own whose commands
   * give up after 250 ms (so that a Redis that stops answering delays a request that long at most before the
   * in-process fallback counts it); per process otherwise.
   */
  private rateLimiter(): RateLimiter | undefined {
    const { rateLimit } = this.config;
    if (rateLimit === undefined) return undefined;
    return this.redis?.rateLimiter(rateLimit) ?? memoryRateLimiter(rateLimit);
  }

  /** Stops in reverse order: no new requests, then the scheduler (G7), then connections. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const server = this.server;
    const closed =
      server === undefined
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeIdleConnections();
          });
    await this.scheduler?.stop();
    server?.closeAllConnections();
    await closed;
    // No run is left: types can let go of what they hold across runs (the browser type's Chromium).
    await this.registry.close().catch((err: unknown) => this.logger.warn({ err: toError(err) }, 'a task type did not close cleanly'));
    await this.redis?.close();
    await this.dbClock?.stop();
    await this.outbound.close();
    await this.store.close();
  }
}
