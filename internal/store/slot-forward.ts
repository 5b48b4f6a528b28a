import type { TaskRow } from './types.js';
import { toDateOrNull } from './mappers.js';

/**
 * A task's slots only move forward (G3). `tasks.last_slot` is the latest slot an attempt was claimed for; it is set
 * by the claim itself, in the UPDATE that takes the lease. Every write that starts a new slot (a completion moving
 * to the next one, "run now" on a free task, a new schedule) passes its slot through {@link forwardSlot} against
 * the row it has locked, so the new slot lands strictly after every slot already claimed, started or finished.
 *
 * Why here and not in the schedule math: the candidate slot comes from a clock (the API's "now", a manual run
 * recorded while the slot ran) that may be behind the clock that claimed the last slot. A slot at or before
 * `last_slot` would bring back a (task, slot, attempt) that already ran: its start would find the old run row,
 * and either loop on a lease it could not start or write over a finished outcome. A slot 1 ms after the last one
 * is due at once, which is what such a write asked for.
 */
export function forwardSlot(candidate: Date, lastSlot: Date | null): Date {
  if (lastSlot === null || candidate.getTime() > lastSlot.getTime()) return candidate;
  return new Date(lastSlot.getTime() + 1);
}

/** The floor of a locked task row: its `last_slot`, as a Date. */
export function slotFloorOf(row: Pick<TaskRow, 'last_slot'>): Date | null {
  return toDateOrNull(row.last_slot ?? null);
}
