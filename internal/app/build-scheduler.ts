import type { Config } from '../config/index.js';
import type { HandlerRegistry } from '../handlers/index.js';
import type { OutboundPolicy } from '../handlers/outbound/index.js';
import type { ChannelSender } from '../notify/index.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type { Service } from '../platform/service.js';
import {
  ConsumerCleanup,
  HostGate,
  LeaseKeeper,
  ModeController,
  NOTIFIER_CONCURRENCY,
  NOTIFIER_MAX_RETRY_DELAY_MS,
  NOTIFIER_TIMEOUT_MS,
  Notifier,
  PeriodicPublisher,
  PollingSource,
  Recovery,
  Retention,
  RunExecutor,
  Scheduler,
  StreamSource,
  StreamTrimmer,
  type StreamQueue,
  WorkerPool,
} from '../scheduler/index.js';
import { type Store, leaseRelease } from '../store/index.js';

/** What every part of the scheduler shares. */
export interface SchedulerBuildDeps {
  store: Store;
  registry: HandlerRegistry;
  /** The stream queue, when Redis is configured. */
  queue: StreamQueue | undefined;
  /** Where webhooks may be delivered (APP_HTTP_DENY_CIDRS), shared with the http check. */
  outbound: OutboundPolicy;
  /** Formats and delivers notifications to their channels (through `outbound`). */
  channelSender: ChannelSender;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
}

/**
 * Builds the scheduler and every service it runs, each with the config it takes, from the one `Config`. This is
 * the only place that maps settings onto services: a new background job is built here and added to the
 * scheduler's `background` list.
 */
export function buildScheduler(deps: SchedulerBuildDeps, config: Config, workerId: string): Scheduler {
  const { store, clock, metrics, logger } = deps;
  const { scheduler: sched, queue: queueConfig, housekeeping } = config;
  const { leaseMs, queueMarkMs } = config.leases;
  const typePatterns = sched.allowedTypes.length === 1 && sched.allowedTypes[0] === '*' ? null : sched.allowedTypes;
  const claim = { workerId, leaseMs, batchSize: queueConfig.batchSize, typePatterns };

  // Politeness per host, in Redis while this process is in stream mode, else in the store.
  let modeController: ModeController | undefined;
  const hostGate = new HostGate(
    {
      store,
      redis: deps.queue !== undefined && config.enableRedisQueue ? deps.queue.hostPermits : undefined,
      useRedis: () => modeController?.mode === 'redis_streams',
      clock,
      logger,
    },
    { defaults: config.hostLimits, leaseMs },
  );
  const executor = new RunExecutor(
    { store, registry: deps.registry, clock, metrics, logger, hostGate },
    { workerId, retry: { baseMs: sched.retryBaseDelayMs, maxMs: sched.retryMaxDelayMs }, maxOutputBytes: sched.maxOutputBytes },
  );
  const pool = new WorkerPool(
    { runner: executor, releaseClaims: (claims) => leaseRelease(store, { claims }), metrics, logger },
    { size: sched.poolSize, capacity: sched.capacity, shutdownTimeoutMs: sched.shutdownTimeoutMs },
  );
  const pollingSource = new PollingSource({ store, pool, clock, logger }, { ...claim, intervalMs: sched.intervalMs });

  const streams = deps.queue !== undefined && config.enableRedisQueue ? deps.queue : undefined;
  let streamSource: StreamSource | undefined;
  let streamMode: ConstructorParameters<typeof ModeController>[0]['streamMode'];
  if (streams !== undefined) {
    const { broker, health } = streams;
    streamSource = new StreamSource(
      { store, pool, broker, health, clock, metrics, logger },
      { ...claim, pendingIdleMs: queueConfig.pendingIdleMs, blockMs: Math.min(1000, Math.max(50, sched.intervalMs)) },
    );
    const publisher = new PeriodicPublisher(
      { store, broker, health, clock, logger },
      { intervalMs: sched.intervalMs, batchSize: queueConfig.batchSize, queueMarkMs },
    );
    streamMode = {
      health,
      source: streamSource,
      start: async () => {
        await broker.ensureGroups();
        await publisher.start();
      },
      stop: () => publisher.stop(),
    };
  }

  const background: Service[] = [
    new Recovery({ store, clock, metrics, logger }, { intervalMs: sched.intervalMs }),
    new Retention(
      { store, clock, logger },
      { schedule: housekeeping.retentionSchedule, retentionMs: config.runRetentionMs, batchSize: housekeeping.retentionBatch },
    ),
    new Notifier(
      { store, sender: deps.channelSender, clock, metrics, logger, hostGate },
      {
        intervalMs: Math.max(sched.intervalMs, 100),
        concurrency: NOTIFIER_CONCURRENCY,
        maxAttempts: config.webhook.maxAttempts,
        retry: { baseMs: config.webhook.retryBaseDelayMs, maxMs: Math.max(config.webhook.retryBaseDelayMs, NOTIFIER_MAX_RETRY_DELAY_MS) },
        timeoutMs: NOTIFIER_TIMEOUT_MS,
      },
    ),
  ];
  // Trimming runs wherever Redis is configured, polling included: a stream the API publishes to while every
  // scheduler polls has no group, and only the trim's length bound keeps it from growing for ever.
  if (deps.queue !== undefined) {
    background.push(new StreamTrimmer({ broker: deps.queue.broker, logger }, { schedule: housekeeping.trimSchedule }));
  }
  if (streams !== undefined) {
    background.push(
      // A consumer is only removed once its entries could have been reclaimed several times over.
      new ConsumerCleanup(
        { broker: streams.broker, logger },
        { schedule: housekeeping.consumerCleanupSchedule, idleMs: Math.max(housekeeping.consumerIdleMs, queueConfig.pendingIdleMs * 4) },
      ),
    );
  }

  modeController = new ModeController(
    { streamMode, pollingSource, metrics, logger },
    { probeIntervalMs: Math.max(sched.intervalMs, 250) },
  );
  return new Scheduler(
    {
      store,
      pool,
      modeController,
      leaseKeeper: new LeaseKeeper({ store, pool, clock, logger }, { workerId, leaseMs }),
      background,
      streamSource,
      clock,
      logger,
    },
    { workerId, leaseMs, typePatterns },
  );
}
