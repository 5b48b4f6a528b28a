import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import type { Metrics } from '../platform/metrics.js';
import { TickingService } from '../platform/service.js';
import { type Store, slotRecoverExpired } from '../store/index.js';

export interface RecoveryDeps {
  store: Store;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
}

export interface RecoveryConfig {
  /** Tick in ms (APP_SCHEDULE_INTERVAL). */
  intervalMs: number;
  /** Leases recovered per transaction. Default {@link RECOVERY_BATCH_SIZE}. */
  batchSize?: number;
}

/** Leases one recovery transaction handles; more are handled in further transactions of the same tick. */
export const RECOVERY_BATCH_SIZE = 100;

/**
 * Finds runs whose executor died (its lease expired) and frees their slots to run again as a new attempt, in
 * both modes. Runs in every scheduler process; row locks and lease fencing make that safe.
 */
export class Recovery extends TickingService {
  constructor(
    private readonly deps: RecoveryDeps,
    private readonly config: RecoveryConfig,
  ) {
    super('recovery', deps.logger, { intervalMs: config.intervalMs });
  }

  /** Recovers every expired lease now. Returns how many slots were freed or ended. */
  async runOnce(): Promise<number> {
    const batchSize = this.config.batchSize ?? RECOVERY_BATCH_SIZE;
    let total = 0;
    for (;;) {
      const result = await slotRecoverExpired(this.deps.store, { now: new Date(this.deps.clock.now()), limit: batchSize });
      const count = result.recovered + result.exhausted;
      if (count === 0) break;
      total += count;
      this.deps.metrics.recovered.inc(count);
      this.deps.logger.warn(result, 'recovered runs whose executor died');
      if (count < batchSize) break;
    }
    return total;
  }
}
