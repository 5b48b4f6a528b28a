import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import { Ticker } from '../platform/ticker.js';
import { type PublishCursor, type Store, slotMarkQueued, slotUnmarkQueued } from '../store/index.js';
import { untilNextSlot } from './next-slot-wake.js';
import type { TaskProducer } from '../taskqueue/index.js';
import type { StreamHealth } from './stream-source.js';

export interface PeriodicPublisherConfig {
  /** Tick in ms (APP_SCHEDULE_INTERVAL). */
  intervalMs: number;
  /** Rows marked and published per round trip; a backlog is published in pages growing up to ten times this. */
  batchSize: number;
  /** How long a published task is considered queued (ms); past it, an entry that was lost is published again. */
  queueMarkMs: number;
  /** Most tasks published in one tick, so one tick cannot flood the stream. */
  maxPerTick: number;
}

/**
 * Stream mode's clock: on every tick, publishes the tasks that came due (new slots, retries, recovered slots)
 * and are not already queued or running. The queue mark set in the same transaction keeps several publishers
 * from publishing one slot twice. When a slot falls due before the next tick, the publisher wakes for it then,
 * so that a slot is published within a few tens of milliseconds of its time rather than within a tick.
 */
export class PeriodicPublisher {
  private readonly ticker: Ticker;

  constructor(
    private readonly deps: { store: Store; producer: TaskProducer; clock: Clock; logger: Logger; streamHealth?: StreamHealth },
    private readonly config: PeriodicPublisherConfig,
  ) {
    this.ticker = new Ticker({ name: 'periodic-publisher', intervalMs: config.intervalMs, tick: () => this.tick(), logger: deps.logger });
  }

  /** Starts ticking, with a first tick at once: slots that fell due while no publisher ran go out now. */
  start(): void {
    this.ticker.start();
    void this.ticker.fire();
  }

  stop(): Promise<void> {
    return this.ticker.stop();
  }

  private async tick(): Promise<void> {
    await this.runOnce();
    const { intervalMs } = this.config;
    const wait = await untilNextSlot(this.deps.store, { now: this.deps.clock.now(), withinMs: intervalMs, intervalMs });
    if (wait !== undefined) this.ticker.wakeIn(wait);
  }

  /** Publishes everything due now (up to maxPerTick). Returns how many tasks were published. */
  async runOnce(): Promise<number> {
    let published = 0;
    let after: PublishCursor | undefined;
    // One pass in pages, all with the same `now`: each page starts where the previous one ended. A backlog (many
    // slots due at once, after downtime) is worked off in growing pages, up to ten batches at a time, so that the
    // round trips of the publisher do not pace the consumers.
    const now = new Date(this.deps.clock.now());
    let page = this.config.batchSize;
    while (published < this.config.maxPerTick) {
      const limit = Math.min(page, this.config.maxPerTick - published);
      const due = await slotMarkQueued(this.deps.store, {
        now,
        limit,
        queueMarkMs: this.config.queueMarkMs,
        after,
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
      after = due.at(-1);
      if (due.length < limit) break;
      page = Math.min(page * 2, this.config.batchSize * 10);
    }
    if (published > 0) this.deps.logger.debug({ published }, 'published due tasks');
    return published;
  }
}
