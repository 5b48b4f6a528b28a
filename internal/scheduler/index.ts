export { Scheduler, type SchedulerConfig, type SchedulerDeps } from './scheduler.js';
export { TaskDispatcher, type QueuedVia } from './task-dispatcher.js';
export type { SchedulerMode, TaskSource } from './task-source.js';
export type { RedisState } from './mode-controller.js';
export { WorkerPool } from './worker-pool.js';
export type { Job } from './job.js';
export { QueueInspector, type QueueReport, type QueueHealthThresholds, type QueueStatus } from './queue-health.js';
export { Housekeeping, type HousekeepingConfig } from './housekeeping.js';
