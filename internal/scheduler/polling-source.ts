import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import { LoopService } from '../platform/service.js';
import { type Store, slotClaimDue } from '../store/index.js';
import { untilNextSlot } from './next-slot-wake.js';
import type { ClaimConfig, TaskSource } from './task-source.js';
import type { WorkerPool } from './worker-pool.js';

export interface PollingSourceDeps {
  store: Store;
  pool: WorkerPool;
  clock: Clock;
  logger: Logger;
}

export interface PollingSourceConfig extends ClaimConfig {
  /** At most one poll per interval, start to start (APP_SCHEDULE_INTERVAL, ms); also the first delay after a failure. */
  intervalMs: number;
}

/** The longest wait between polls while the store keeps failing, in ms. */
export const POLLING_MAX_BACKOFF_MS = 5000;

/**
 * Polling mode: claims due tasks straight from the database (SELECT … FOR UPDATE SKIP LOCKED on MySQL), highest
 * priority first, as many as the pool has room for. It polls again at once while it finds full batches; otherwise
 * it waits until the next slot falls due, or one interval when none does before then.
 */
export class PollingSource extends LoopService implements TaskSource {
  readonly mode = 'db_polling' as const;

  constructor(
    private readonly deps: PollingSourceDeps,
    private readonly config: PollingSourceConfig,
  ) {
    super('polling-source', deps.logger, { baseMs: config.intervalMs, maxMs: Math.max(config.intervalMs, POLLING_MAX_BACKOFF_MS), jitter: 'none' });
  }

  /** Claims one batch into the pool. Returns how many were claimed and how many were asked for. */
  async runOnce(): Promise<{ claimed: number; asked: number }> {
    const asked = Math.min(this.deps.pool.room(), this.config.batchSize);
    if (asked <= 0) return { claimed: 0, asked };
    const claims = await slotClaimDue(this.deps.store, {
      workerId: this.config.workerId,
      leaseToken: randomUUID(),
      leaseMs: this.config.leaseMs,
      now: new Date(this.deps.clock.now()),
      typePatterns: this.config.typePatterns,
      limit: asked,
      channel: 'poll',
    });
    const claimed = await this.deps.pool.offerAll(claims.map((claim) => ({ claim })));
    return { claimed, asked };
  }

  protected async step(): Promise<number> {
    await this.deps.pool.whenRoom();
    // A closing pool resolves whenRoom at once with no room: wait on a timer, never spin on resolved promises.
    if (this.deps.pool.room() === 0) return this.config.intervalMs;
    const startedAt = this.deps.clock.now();
    const { claimed, asked } = await this.runOnce();
    // A full batch polls again at once.
    return claimed < asked ? this.untilNextPoll(startedAt) : 0;
  }

  /**
   * At most one poll per interval, start to start (the time the poll took comes off the wait), and sooner when a
   * slot falls due before then, though not sooner than a short gap, so that polls still gather batches.
   */
  private async untilNextPoll(startedAt: number): Promise<number> {
    const now = this.deps.clock.now();
    const wait = Math.max(0, this.config.intervalMs - (now - startedAt));
    const sooner = await untilNextSlot(this.deps.store, { now, withinMs: wait, intervalMs: this.config.intervalMs });
    return Math.min(wait, sooner ?? wait);
  }
}
