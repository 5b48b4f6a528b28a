import { type Store, slotNextDue } from '../store/index.js';

/**
 * How long to wait for the next free slot that falls due within `withinMs` of `now`, or undefined when none does.
 * Never less than a short gap (50 ms, or the tick when that is shorter), so that passes brought forward by a
 * stream of slots still gather them into batches. The publisher and the poller both wake this way.
 */
export async function untilNextSlot(store: Store, params: { now: number; withinMs: number; intervalMs: number }): Promise<number | undefined> {
  const { now } = params;
  const next = await slotNextDue(store, { after: new Date(now), until: new Date(now + params.withinMs) });
  return next === undefined ? undefined : Math.max(Math.min(50, params.intervalMs), next.getTime() - now);
}
