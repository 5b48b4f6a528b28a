import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import { TickingService } from '../platform/service.js';
import { type PublishCursor, type Store, slotMarkQueued, slotUnmarkQueued } from '../store/index.js';
import { untilNextSlot } from './next-slot-wake.js';
import type { QueueBroker, QueueHealth } from './queue-broker.js';

export interface PeriodicPublisherDeps {
  store: Store;
  broker: QueueBroker;
  /** Told how publishes go, so that a Redis refusing writes makes the scheduler poll. */
  health: QueueHealth;
  clock: Clock;
  logger: Logger;
}

export interface PeriodicPublisherConfig {
  /** Tick in ms (APP_SCHEDULE_INTERVAL). */
  intervalMs: number;
  /** Rows marked and published per round trip; a backlog is published in pages growing up to ten times this. */
  batchSize: number;
  /** How long a published task counts as queued (ms); past it, an entry that was lost is published again. */
  queueMarkMs: number;
  /** Most tasks published in one tick, so that one tick cannot flood the stream. Default {@link PUBLISHER_MAX_PER_TICK}. */
  maxPerTick?: number;
}

/** Most tasks one tick publishes: a backlog of this size goes out within one tick. */
export const PUBLISHER_MAX_PER_TICK = 50_000;

/**
 * Stream mode's clock: on every tick, publishes the tasks that came due (new slots, retries, recovered slots)
 * and are not already queued or running. The queue mark set in the same transaction keeps several publishers
 * from publishing one slot twice. When a slot falls due before the next tick, the publisher wakes for it then,
 * so that a slot is published within a few tens of milliseconds of its time rather than within a tick. The first
 * tick comes at start: slots that fell due while no publisher ran go out at once.
 */
export class PeriodicPublisher extends TickingService {
  constructor(
    private readonly deps: PeriodicPublisherDeps,
    private readonly config: PeriodicPublisherConfig,
  ) {
    super('periodic-publisher', deps.logger, { intervalMs: config.intervalMs }, true);
  }

  protected override async tick(): Promise<void> {
    await this.runOnce();
    const { intervalMs } = this.config;
    const wait = await untilNextSlot(this.deps.store, { now: this.deps.clock.now(), withinMs: intervalMs, intervalMs });
    if (wait !== undefined) this.wakeIn(wait);
  }

  /** Publishes everything due now (up to maxPerTick). Returns how many tasks were published. */
  async runOnce(): Promise<number> {
    const maxPerTick = this.config.maxPerTick ?? PUBLISHER_MAX_PER_TICK;
    let published = 0;
    let after: PublishCursor | undefined;
    // One pass in pages, all with the same `now`: each page starts where the previous one ended. A backlog (many
    // slots due at once, after downtime) is worked off in growing pages, up to ten batches at a time, so that the
    // round trips of the publisher do not pace the consumers.
    const now = new Date(this.deps.clock.now());
    let page = this.config.batchSize;
    while (published < maxPerTick) {
      const limit = Math.min(page, maxPerTick - published);
      const due = await slotMarkQueued(this.deps.store, { now, limit, queueMarkMs: this.config.queueMarkMs, after });
      if (due.length === 0) break;
      try {
        await this.deps.broker.publish(due.map((d) => ({ taskId: d.id, priority: d.priority, slot: d.slot, source: d.source })));
        this.deps.health.reportSuccess('publisher');
      } catch (err) {
        this.deps.health.reportFailure('publisher', err);
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
