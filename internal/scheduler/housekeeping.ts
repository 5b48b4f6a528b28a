import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import { Ticker } from '../platform/ticker.js';
import { type Store, deadLetterDeleteBefore, notificationDeleteBefore, runDeleteBefore } from '../store/index.js';
import type { StreamAdmin } from '../taskqueue/index.js';

export interface HousekeepingConfig {
  /** node-cron lines for each job. */
  trimSchedule: string;
  retentionSchedule: string;
  consumerCleanupSchedule: string;
  /** A consumer idle this long with nothing pending is removed (ms). */
  consumerIdleMs: number;
  /** Run history and dead letters older than this are deleted (ms). */
  retentionMs: number;
  /** Rows per delete statement. */
  retentionBatch: number;
}

/**
 * Periodic upkeep, each job safe to run in several processes at once:
 * - trimming the streams up to the oldest entry a group still needs (G4: never a pending or unread one);
 * - deleting run history, dead letters and webhook notifications past retention, in batches;
 * - removing consumers that are idle and hold nothing pending (their entries are reclaimed first by XAUTOCLAIM).
 */
export class Housekeeping {
  private readonly tickers: Ticker[];

  constructor(
    private readonly deps: { store: Store; admin: StreamAdmin | undefined; clock: Clock; logger: Logger },
    private readonly config: HousekeepingConfig,
  ) {
    const { logger } = deps;
    this.tickers = [
      new Ticker({ name: 'retention', schedule: config.retentionSchedule, tick: () => this.retentionOnce().then(() => undefined), logger }),
    ];
    if (deps.admin !== undefined) {
      this.tickers.push(
        new Ticker({ name: 'stream-trim', schedule: config.trimSchedule, tick: () => this.trimOnce().then(() => undefined), logger }),
        new Ticker({
          name: 'consumer-cleanup',
          schedule: config.consumerCleanupSchedule,
          tick: () => this.consumerCleanupOnce().then(() => undefined),
          logger,
        }),
      );
    }
  }

  start(): void {
    for (const ticker of this.tickers) ticker.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.tickers.map((t) => t.stop()));
  }

  /** Trims every stream. Returns how many entries were removed. */
  async trimOnce(): Promise<number> {
    if (this.deps.admin === undefined) return 0;
    const removed = await this.deps.admin.trim();
    if (removed > 0) this.deps.logger.debug({ removed }, 'streams trimmed');
    return removed;
  }

  /** Deletes runs, dead letters and notifications past retention, batch by batch. Returns the counts. */
  async retentionOnce(): Promise<{ runs: number; deadLetters: number; notifications: number }> {
    const before = new Date(this.deps.clock.now() - this.config.retentionMs);
    const runs = await this.drain((limit) => runDeleteBefore(this.deps.store, { before, limit }));
    const deadLetters = await this.drain((limit) => deadLetterDeleteBefore(this.deps.store, { before, limit }));
    const notifications = await this.drain((limit) => notificationDeleteBefore(this.deps.store, { before, limit }));
    if (runs + deadLetters + notifications > 0) {
      this.deps.logger.info({ runs, deadLetters, notifications, before }, 'retention deleted old rows');
    }
    return { runs, deadLetters, notifications };
  }

  /** Repeats a batched delete until a batch comes back short; short batches keep locks and replication lag small. */
  private async drain(deleteBatch: (limit: number) => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await deleteBatch(this.config.retentionBatch);
      total += deleted;
      if (deleted < this.config.retentionBatch) return total;
    }
  }

  /** Removes idle consumers with nothing pending. Returns their names. */
  async consumerCleanupOnce(): Promise<string[]> {
    if (this.deps.admin === undefined) return [];
    const removed = await this.deps.admin.removeIdleConsumers(this.config.consumerIdleMs);
    if (removed.length > 0) this.deps.logger.info({ removed }, 'removed idle consumers');
    return removed;
  }
}
