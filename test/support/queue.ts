import type { Clock } from '../../internal/platform/clock.js';
import { QueueInspector } from '../../internal/scheduler/index.js';
import type { Store } from '../../internal/store/index.js';

/** A `/queue` source with no Redis: the polling view, with the default thresholds. */
export function pollingQueueSource(store: Store, clock: Clock): QueueInspector {
  return new QueueInspector(
    { store, queue: undefined, clock, mode: () => 'db_polling', streamsEnabled: false },
    { degradedAgeMs: 60_000, unhealthyAgeMs: 300_000, degradedBacklog: 1000, unhealthyBacklog: 10_000 },
  );
}
