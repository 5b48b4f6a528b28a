import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import { Ticker } from '../platform/ticker.js';
import { type Store, slotMarkQueued, slotUnmarkQueued } from '../store/index.js';
import type { TaskProducer } from '../taskqueue/index.js';
import type { StreamHealth } from './stream-source.js';

export interface PeriodicPublisherConfig {
  /** Tick in ms (APP_SCHEDULE_INTERVAL). */
  intervalMs: number;
  /** Rows marked and published per round trip. */
  batchSize: number;
  /** How long a published task is considered queued (ms); past it, an entry that was lost is published again. */
  queueMarkMs: number;
  /** Most tasks published in one tick, so one tick cannot flood the stream. */
  maxPerTick: number;
}

/**
 * Stream mode's clock: on every tick, publishes the tasks that came due (new slots, retries, recovered slots)
 * and are not already queued or running. The queue mark set in the same transaction keeps several publishers
 * from publishing one slot twice.
 */
export class PeriodicPublisher {
  private readonly ticker: Ticker;

  constructor(
    private readonly deps: { store: Store; producer: TaskProducer; clock: Clock; logger: Logger; streamHealth?: StreamHealth },
    private readonly config: PeriodicPublisherConfig,
  ) {
    this.ticker = new Ticker({ name: 'periodic-publisher', intervalMs: config.intervalMs, tick: () => this.runOnce().then(() => undefined), logger: deps.logger });
  }

  start(): void {
    this.ticker.start();
  }

  stop(): Promise<void> {
    return this.ticker.stop();
  }

  /** Publishes everything due now (up to maxPerTick). Returns how many tasks were published. */
  async runOnce(): Promise<number> {
    let published = 0;
    while (published < this.config.maxPerTick) {
      const due = await slotMarkQueued(this.deps.store, {
        now: new Date(this.deps.clock.now()),
        limit: Math.min(this.config.batchSize, this.config.maxPerTick - published),
        queueMarkMs: this.config.queueMarkMs,
      });
      if (due.length === 0) break;
      try {
        await this.deps.producer.publish(
          due.map((d) => ({ taskId: d.id, priority: d.priority, slot: d.slot, source: d.source })),
        );
        this.deps.streamHealth?.ok();
      } catch (err) {
        this.deps.streamHealth?.failed(err);
        // Unmark so the next tick (or the poller, if Redis is gone) picks them up without waiting for the mark.
        await slotUnmarkQueued(this.deps.store, due.map((d) => d.id));
        throw err;
      }
      published += due.length;
      if (due.length < this.config.batchSize) break;
    }
    if (published > 0) this.deps.logger.debug({ published }, 'published due tasks');
    return published;
  }
}
