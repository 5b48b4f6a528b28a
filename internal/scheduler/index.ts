export { Scheduler, type SchedulerConfig, type SchedulerDeps } from './scheduler.js';
export { WorkerPool, type WorkerPoolConfig, type WorkerPoolDeps } from './worker-pool.js';
export { RunExecutor, type RunExecutorConfig, type RunExecutorDeps } from './run-executor.js';
export { PollingSource, type PollingSourceConfig, type PollingSourceDeps } from './polling-source.js';
export { StreamSource, type StreamSourceConfig, type StreamSourceDeps } from './stream-source.js';
export { PeriodicPublisher, type PeriodicPublisherConfig, type PeriodicPublisherDeps } from './periodic-publisher.js';
export { Recovery, type RecoveryConfig, type RecoveryDeps } from './recovery.js';
export { LeaseKeeper, type LeaseKeeperConfig, type LeaseKeeperDeps } from './lease-keeper.js';
export { ModeController, type ModeControllerConfig, type ModeControllerDeps } from './mode-controller.js';
export {
  NOTIFIER_CONCURRENCY,
  NOTIFIER_MAX_RETRY_DELAY_MS,
  NOTIFIER_TIMEOUT_MS,
  Notifier,
  type NotifierConfig,
  type NotifierDeps,
} from './notifier.js';
export { Retention, type RetentionConfig, type RetentionDeps } from './retention.js';
export { ConsumerCleanup, StreamTrimmer } from './stream-upkeep.js';
export { TaskHandoff, type TaskHandoffConfig, type TaskHandoffDeps, type QueuedVia } from './task-handoff.js';
export type { QueueBroker, QueueHealth, StreamQueue } from './queue-broker.js';
export type { SchedulerMode, TaskSource } from './task-source.js';
export type { Job } from './job.js';
export { QueueInspector, type QueueReport, type QueueHealthThresholds, type QueueStatus } from './queue-health.js';
export { HostGate, type HostGateConfig, type HostGateDeps, type HostPermitBackend } from './host-gate.js';
