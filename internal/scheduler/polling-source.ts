import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import { delay } from '../platform/lifecycle.js';
import { type Store, leaseRelease, slotClaimDue } from '../store/index.js';
import { untilNextSlot } from './next-slot-wake.js';
import type { ClaimConfig, TaskSource } from './task-source.js';
import type { WorkerPool } from './worker-pool.js';

export interface PollingSourceDeps {
  store: Store;
  pool: WorkerPool;
  clock: Clock;
  logger: Logger;
}

/**
 * Polling mode: claims due tasks straight from the database (SELECT … FOR UPDATE SKIP LOCKED on MySQL), highest
 * priority first, as many as the pool has room for. It polls again at once while it finds full batches; otherwise
 * it waits until the next slot falls due, or one tick when none does before then.
 */
export class PollingSource implements TaskSource {
  readonly mode = 'db_polling' as const;
  private loop: Promise<void> | undefined;
  private controller = new AbortController();

  constructor(
    private readonly deps: PollingSourceDeps,
    private readonly config: ClaimConfig & { intervalMs: number },
  ) {}

  start(): void {
    if (this.loop !== undefined) return;
    this.controller = new AbortController();
    this.loop = this.run(this.controller.signal);
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.loop;
    this.loop = undefined;
  }

  /** Claims one batch into the pool. Returns how many were claimed and how many were asked for. */
  async runOnce(): Promise<{ claimed: number; asked: number }> {
    const asked = Math.min(this.deps.pool.room(), this.config.batchSize);
    if (asked <= 0) return { claimed: 0, asked };
    const claims = await slotClaimDue(this.deps.store, {
      owner: this.config.owner,
      leaseToken: randomUUID(),
      leaseMs: this.config.leaseMs,
      now: new Date(this.deps.clock.now()),
      typePatterns: this.config.typePatterns,
      limit: asked,
      channel: 'poll',
    });
    const rejected = claims.filter((claim) => !this.deps.pool.offer({ claim }));
    if (rejected.length > 0) await leaseRelease(this.deps.store, { claims: rejected });
    return { claimed: claims.length - rejected.length, asked };
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

  private async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      await this.deps.pool.whenRoom();
      if (signal.aborted) break;
      if (this.deps.pool.room() === 0) {
        // The pool is closing (whenRoom resolves at once then): wait on a timer, never spin on resolved promises.
        await delay(this.config.intervalMs, signal);
        continue;
      }
      try {
        const startedAt = this.deps.clock.now();
        const { claimed, asked } = await this.runOnce();
        failures = 0;
        // A full pool (asked 0) waits for room at the top of the loop; a full batch polls again at once.
        if (asked > 0 && claimed < asked) await delay(await this.untilNextPoll(startedAt), signal);
      } catch (err) {
        failures += 1;
        if (failures === 1 || failures % 30 === 0) this.deps.logger.warn({ err }, 'polling failed; retrying');
        await delay(Math.min(this.config.intervalMs * failures, 5000), signal);
      }
    }
  }
}
