import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import { TickingService } from '../platform/service.js';
import { type RetainedTable, type Store, retentionDeleteBefore } from '../store/index.js';

export interface RetentionDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
}

export interface RetentionConfig {
  /** node-cron line (housekeeping.retention_schedule; default every 10 min). */
  schedule: string;
  /** Run history, dead letters and finished notifications older than this are deleted (APP_RUN_RETENTION, ms). */
  retentionMs: number;
  /** Rows per delete statement (housekeeping.retention_batch). */
  batchSize: number;
}

/**
 * Deletes run history, dead letters and finished webhook notifications past retention (G4), in short batches so
 * that locks and replication lag stay small. Safe to run in several processes at once.
 */
export class Retention extends TickingService {
  constructor(
    private readonly deps: RetentionDeps,
    private readonly config: RetentionConfig,
  ) {
    super('retention', deps.logger, { schedule: config.schedule });
  }

  /** Deletes everything past retention now, batch by batch. Returns the counts. */
  async runOnce(): Promise<{ runs: number; deadLetters: number; notifications: number }> {
    const before = new Date(this.deps.clock.now() - this.config.retentionMs);
    const runs = await this.drain('task_runs', before);
    const deadLetters = await this.drain('dead_letters', before);
    const notifications = await this.drain('notifications', before);
    if (runs + deadLetters + notifications > 0) {
      this.deps.logger.info({ runs, deadLetters, notifications, before }, 'retention deleted old rows');
    }
    return { runs, deadLetters, notifications };
  }

  /** Deletes a table's old rows batch by batch, until a batch comes back short. */
  private async drain(table: RetainedTable, before: Date): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await retentionDeleteBefore(this.deps.store, table, { before, limit: this.config.batchSize });
      total += deleted;
      if (deleted < this.config.batchSize) return total;
    }
  }
}
