import type { Logger } from 'pino';
import { TickingService } from '../platform/service.js';
import type { QueueBroker } from './queue-broker.js';

export interface StreamUpkeepDeps {
  broker: QueueBroker;
  logger: Logger;
}

/**
 * Trims the streams up to the oldest entry a group still needs, and no further (G4: never a pending or unread
 * entry). Safe to run in several processes at once.
 */
export class StreamTrimmer extends TickingService {
  constructor(
    private readonly deps: StreamUpkeepDeps,
    config: { /** node-cron line (housekeeping.trim_schedule; default every 30 s). */ schedule: string },
  ) {
    super('stream-trim', deps.logger, { schedule: config.schedule });
  }

  /** Trims every stream now. Returns how many entries were removed. */
  async runOnce(): Promise<number> {
    const removed = await this.deps.broker.trim();
    if (removed > 0) this.deps.logger.debug({ removed }, 'streams trimmed');
    return removed;
  }
}

/**
 * Removes consumers that are idle and hold nothing pending: processes that are gone. Their entries, if any, were
 * reclaimed first by XAUTOCLAIM, which is why the idle time is several pending-idle periods at least.
 */
export class ConsumerCleanup extends TickingService {
  constructor(
    private readonly deps: StreamUpkeepDeps,
    private readonly config: {
      /** node-cron line (housekeeping.consumer_cleanup_schedule; default every 5 min). */
      schedule: string;
      /** A consumer idle this long with nothing pending is removed (ms). */
      idleMs: number;
    },
  ) {
    super('consumer-cleanup', deps.logger, { schedule: config.schedule });
  }

  /** Removes idle consumers now. Returns their names. */
  async runOnce(): Promise<string[]> {
    const removed = await this.deps.broker.removeIdleConsumers(this.config.idleMs);
    if (removed.length > 0) this.deps.logger.info({ removed }, 'removed idle consumers');
    return removed;
  }
}
