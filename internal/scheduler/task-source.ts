/** The two ways work reaches the worker pool; the scheduler declares what it needs of each. */
export type SchedulerMode = 'redis_streams' | 'db_polling';

/** Feeds claimed slots into the worker pool until stopped. */
export interface TaskSource {
  readonly mode: SchedulerMode;
  start(): void;
  /** Stops fetching; resolves when the fetch loop has ended. Idempotent. */
  stop(): Promise<void>;
}

/** What sources share: who claims, for how long, and which types. */
export interface ClaimConfig {
  /** Worker id: the lease owner and stream consumer name. */
  owner: string;
  /** Lease length in ms; the lease keeper extends held leases well before they end. */
  leaseMs: number;
  /** Most rows or entries fetched at once. */
  batchSize: number;
  /** Types this process runs as globs, or null for all. */
  typePatterns: readonly string[] | null;
}
