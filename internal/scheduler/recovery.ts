import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import type { Metrics } from '../platform/metrics.js';
import { Ticker } from '../platform/ticker.js';
import { type Store, slotRecoverExpired } from '../store/index.js';

/**
 * Finds runs whose executor died (its lease expired) and frees their slots to run again as a new attempt, in
 * both modes. Runs in every scheduler process; row locks and lease fencing make that safe.
 */
export class Recovery {
  private readonly ticker: Ticker;

  constructor(
    private readonly deps: { store: Store; clock: Clock; metrics: Metrics; logger: Logger },
    private readonly config: { intervalMs: number; batchSize: number },
  ) {
    this.ticker = new Ticker({ name: 'recovery', intervalMs: config.intervalMs, tick: () => this.runOnce().then(() => undefined), logger: deps.logger });
  }

  start(): void {
    this.ticker.start();
  }

  stop(): Promise<void> {
    return this.ticker.stop();
  }

  /** Recovers every expired lease now. Returns how many slots were freed or ended. */
  async runOnce(): Promise<number> {
    let total = 0;
    for (;;) {
      const result = await slotRecoverExpired(this.deps.store, {
        now: new Date(this.deps.clock.now()),
        limit: this.config.batchSize,
      });
      const count = result.recovered + result.exhausted;
      if (count === 0) break;
      total += count;
      this.deps.metrics.recovered.inc(count);
      this.deps.logger.warn(result, 'recovered runs whose executor died');
      if (count < this.config.batchSize) break;
    }
    return total;
  }
}
