import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { HandlerRegistry } from '../handlers/index.js';
import type { OutboundPolicy } from '../handlers/outbound/index.js';
import type { Clock } from '../platform/clock.js';
import type { Metrics } from '../platform/metrics.js';
import { type RetryPolicy, type RunSource, type Store, leaseRelease, slotClaimByIds, taskTakenBy } from '../store/index.js';
import { QueueKeys, type Redis, type StreamAdmin, StreamConsumer, type TaskProducer } from '../taskqueue/index.js';
import { Housekeeping, type HousekeepingConfig } from './housekeeping.js';
import { Notifier } from './notifier.js';
import { LeaseKeeper } from './lease-keeper.js';
import { ModeController, type RedisState } from './mode-controller.js';
import { PeriodicPublisher } from './periodic-publisher.js';
import { PollingSource } from './polling-source.js';
import { Recovery } from './recovery.js';
import { RunExecutor } from './run-executor.js';
import { StreamSource } from './stream-source.js';
import type { SchedulerMode } from './task-source.js';
import { WorkerPool } from './worker-pool.js';

export interface SchedulerDeps {
  store: Store;
  registry: HandlerRegistry;
  /** Redis, when configured: a connection for commands, one for the blocking read, the producer and the admin. */
  redis?: { commands: Redis; blocking: Redis; producer: TaskProducer; admin: StreamAdmin } | undefined;
  /** Where webhooks may be delivered (APP_HTTP_DENY_CIDRS), shared with the http check. */
  outbound: OutboundPolicy;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
}

export interface SchedulerConfig {
  /** Worker id: lease owner, consumer name, and the `worker` of each run. */
  worker: string;
  /** APP_ENABLE_REDIS_QUEUE. */
  enableRedisQueue: boolean;
  /** APP_TASK_QUEUE_STREAM and APP_TASK_QUEUE_GROUP. */
  stream: string;
  group: string;
  /** APP_SCHEDULE_INTERVAL, ms. */
  intervalMs: number;
  /** APP_WORKER_POOL_SIZE and APP_QUEUE_CAPACITY. */
  poolSize: number;
  capacity: number;
  /** APP_QUEUE_BATCH_SIZE. */
  batchSize: number;
  /** APP_PENDING_IDLE, ms. */
  pendingIdleMs: number;
  /** APP_ALLOWED_TYPES; `*` alone means every type. */
  allowedTypes: readonly string[];
  /** APP_RECOVERY_TIMEOUT, ms: leases and queue marks last half of it, so a dead executor's slot runs again in time. */
  recoveryTimeoutMs: number;
  /** APP_SHUTDOWN_TIMEOUT, ms. */
  shutdownTimeoutMs: number;
  retry: RetryPolicy;
  /** Webhook delivery: APP_WEBHOOK_SECRET, APP_WEBHOOK_MAX_ATTEMPTS, APP_WEBHOOK_RETRY_BASE_DELAY. */
  webhook: { secret: string | undefined; maxAttempts: number; retryBaseDelayMs: number };
  /** Stream trimming, retention and consumer cleanup; run by every scheduler, each job safe to run concurrently. */
  housekeeping: HousekeepingConfig;
}

/** The scheduler: a worker pool fed by the stream or by polling, plus recovery and lease upkeep. */
export class Scheduler {
  readonly pool: WorkerPool;
  readonly modeController: ModeController;
  readonly recovery: Recovery;
  readonly publisher: PeriodicPublisher | undefined;
  readonly streamSource: StreamSource | undefined;
  readonly pollingSource: PollingSource;
  readonly housekeeping: Housekeeping;
  readonly notifier: Notifier;
  private readonly leaseKeeper: LeaseKeeper;
  private readonly typePatterns: readonly string[] | null;
  private readonly leaseMs: number;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly deps: SchedulerDeps,
    private readonly config: SchedulerConfig,
  ) {
    const { store, clock, metrics, logger } = deps;
    this.leaseMs = Math.max(100, Math.floor(config.recoveryTimeoutMs / 2));
    this.typePatterns = config.allowedTypes.length === 1 && config.allowedTypes[0] === '*' ? null : config.allowedTypes;
    const executor = new RunExecutor(
      { store, registry: deps.registry, clock, metrics, logger },
      { worker: config.worker, retry: config.retry },
    );
    this.pool = new WorkerPool({ runner: executor, metrics, logger }, { size: config.poolSize, capacity: config.capacity });
    const claim = { owner: config.worker, leaseMs: this.leaseMs, batchSize: config.batchSize, typePatterns: this.typePatterns };
    this.pollingSource = new PollingSource({ store, pool: this.pool, clock, logger }, { ...claim, intervalMs: config.intervalMs });

    let streamMode: ConstructorParameters<typeof ModeController>[0]['streamMode'];
    if (deps.redis !== undefined && config.enableRedisQueue) {
      const keys = new QueueKeys(config.stream);
      const consumer = new StreamConsumer({
        redis: deps.redis.commands,
        blockingRedis: deps.redis.blocking,
        keys,
        group: config.group,
        consumer: config.worker,
        logger,
      });
      // Stream sources report how their Redis commands go, so that a Redis answering PING but refusing stream
      // commands still makes the mode controller fall back to polling.
      const streamHealth = (component: string) => ({
        ok: () => this.modeController.reportStreamSuccess(component),
        failed: (err: unknown) => this.modeController.reportStreamFailure(component, err),
      });
      this.streamSource = new StreamSource(
        { store, pool: this.pool, consumer, clock, metrics, logger, streamHealth: streamHealth('reader') },
        { ...claim, pendingIdleMs: config.pendingIdleMs, blockMs: Math.min(1000, Math.max(50, config.intervalMs)) },
      );
      this.publisher = new PeriodicPublisher(
        { store, producer: deps.redis.producer, clock, logger, streamHealth: streamHealth('publisher') },
        { intervalMs: config.intervalMs, batchSize: config.batchSize, queueMarkMs: this.queueMarkMs, maxPerTick: 50_000 },
      );
      const publisher = this.publisher;
      const { admin } = deps.redis;
      streamMode = {
        source: this.streamSource,
        start: async () => {
          await consumer.ensureGroups();
          publisher.start();
        },
        stop: () => publisher.stop(),
        probeWrite: () => admin.probeWrite(),
      };
    }
    this.modeController = new ModeController(
      { redis: deps.redis?.commands, streamMode, pollingSource: this.pollingSource, metrics, logger },
      { probeIntervalMs: Math.max(config.intervalMs, 250) },
    );
    this.recovery = new Recovery({ store, clock, metrics, logger }, { intervalMs: config.intervalMs, batchSize: 100 });
    this.housekeeping = new Housekeeping(
      { store, admin: config.enableRedisQueue ? deps.redis?.admin : undefined, clock, logger },
      // A consumer is only removed once its entries could have been reclaimed several times over.
      { ...config.housekeeping, consumerIdleMs: Math.max(config.housekeeping.consumerIdleMs, config.pendingIdleMs * 4) },
    );
    this.notifier = new Notifier(
      { store, policy: deps.outbound, clock, logger },
      {
        intervalMs: Math.max(config.intervalMs, 100),
        concurrency: 10,
        maxAttempts: config.webhook.maxAttempts,
        retry: { baseMs: config.webhook.retryBaseDelayMs, maxMs: Math.max(config.webhook.retryBaseDelayMs, 600_000) },
        secret: config.webhook.secret,
        timeoutMs: 10_000,
      },
    );
    this.leaseKeeper = new LeaseKeeper({ store, pool: this.pool, clock, logger }, { owner: config.worker, leaseMs: this.leaseMs });
  }

  /** How long a published entry counts as queued before the publisher may publish its task again (ms). */
  get queueMarkMs(): number {
    return Math.max(100, Math.floor(this.config.recoveryTimeoutMs / 2));
  }

  get mode(): SchedulerMode {
    return this.modeController.mode;
  }

  get redisState(): RedisState {
    return this.modeController.redis;
  }

  async start(): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'running';
    this.leaseKeeper.start();
    this.recovery.start();
    this.housekeeping.start();
    this.notifier.start();
    await this.modeController.start();
    this.deps.logger.info(
      { mode: this.mode, interval: `${this.config.intervalMs}ms`, worker: this.config.worker, poolSize: this.config.poolSize },
      'scheduler started',
    );
  }

  /**
   * Hands one task to this process directly (the API's fallback when the publish fails, or when streams are
   * off). Returns true when this process holds the slot (claimed here, or by its own poller a moment earlier), and
   * false when it does not: it is not due, another process holds it, or the pool is full. The row stays due either
   * way, so the poller or publisher picks it up.
   */
  async enqueueDirect(taskId: number, source: RunSource = 'direct'): Promise<boolean> {
    if (this.state !== 'running' || this.pool.room() <= 0) return false;
    const { claimed } = await slotClaimByIds(this.deps.store, {
      ids: [taskId],
      owner: this.config.worker,
      leaseToken: randomUUID(),
      leaseMs: this.leaseMs,
      now: new Date(this.deps.clock.now()),
      typePatterns: this.typePatterns,
      channelOf: () => source,
    });
    const rejected = claimed.filter((claim) => !this.pool.offer({ claim }));
    if (rejected.length > 0) await leaseRelease(this.deps.store, { claims: rejected });
    if (claimed.length > rejected.length) return true;
    // This process's own poller may have claimed (or even run) it a moment earlier: it is in this scheduler's hands.
    return claimed.length === 0 && (await taskTakenBy(this.deps.store, { id: taskId, worker: this.config.worker }));
  }

  /**
   * Graceful stop: takes no new work, gives back buffered claims, lets runs in flight finish and record within
   * the shutdown timeout, and leaves anything still running for recovery. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    // The pool closes first. Otherwise a source parked in whenRoom() (a full pool) keeps the stop waiting until a
    // run ends, however long that is, and that run's end starts a buffered claim after the signal. Closing it
    // also starts the shutdown timeout at the signal. A source that claims while it closes gets its offer
    // refused and gives the claim back itself.
    const draining = this.pool.stop(this.config.shutdownTimeoutMs);
    await this.modeController.stop();
    await this.recovery.stop();
    await this.housekeeping.stop();
    await this.notifier.stop();
    const { released, abandoned } = await draining;
    try {
      await leaseRelease(this.deps.store, { claims: released.map((job) => job.claim) });
    } catch (err) {
      this.deps.logger.warn({ err, count: released.length }, 'could not give back buffered claims; they expire');
    }
    await this.leaseKeeper.stop();
    this.state = 'stopped';
    this.deps.logger.info({ released: released.length, abandoned }, 'scheduler stopped');
  }
}
