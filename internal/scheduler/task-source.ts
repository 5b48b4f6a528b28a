import type { Service } from '../platform/service.js';

/** The two ways work reaches the worker pool; the scheduler declares what it needs of each. */
export type SchedulerMode = 'redis_streams' | 'db_polling';

/** Feeds claimed slots into the worker pool until stopped. */
export interface TaskSource extends Service {
  readonly mode: SchedulerMode;
}

/** What the sources share: who claims, for how long, and which types. */
export interface ClaimConfig {
  /** This process's worker id: the lease owner, the stream consumer, and the `worker` of each run. */
  workerId: string;
  /** Lease length in ms; the lease keeper extends held leases well before they end. */
  leaseMs: number;
  /** Most rows or entries fetched at once (APP_QUEUE_BATCH_SIZE). */
  batchSize: number;
  /** Types this process runs as globs, or null for all (APP_ALLOWED_TYPES). */
  typePatterns: readonly string[] | null;
}
