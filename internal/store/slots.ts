import { createHash } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';
import type { Schedule } from './types.js';

/**
 * Slot arithmetic, pure: a slot is one due time of a task.
 *
 * - Without jitter, an `every` schedule counts from the task's previous slot; a cron line's slots are its
 *   occurrences.
 * - With `jitter` (seconds), each slot is shifted by the task's own offset, below the jitter, from a hash of its
 *   id: the same in every process and after every restart. An `every` schedule then sits on a fixed grid (the
 *   multiples of `every` since the epoch, plus the offset), so that tasks created together still spread out.
 * - When the next slot is already in the past (the run overran, or no scheduler ran), the task's `catchUp` says
 *   which slot comes next: `collapse` (default) the latest slot not after now, `skip` the first slot after now,
 *   `window` the oldest missed slot within the window (each of them in turn, since each end asks again).
 */

/** The next slot after `previous` ended, at `now`, under the schedule's catch-up policy. */
export function nextSlot(schedule: Schedule, previous: Date, now: Date, taskId = 0): Date {
  return catchUpSlot(schedule, slotAfter(schedule, previous, taskId, previous), now, taskId);
}

/**
 * Which slot runs when `slot` is due at `now`: `slot` itself unless it was missed (a later slot is due too), else
 * the one the catch-up policy picks, which may be after `now` (`skip`, or a window that missed everything).
 */
export function catchUpSlot(schedule: Schedule, slot: Date, now: Date, taskId = 0): Date {
  if (slot.getTime() > now.getTime()) return slot;
  const following = slotAfter(schedule, slot, taskId, slot);
  if (following.getTime() > now.getTime()) return slot;
  const policy = schedule.catchUp ?? 'collapse';
  if (policy === 'collapse') return latestSlotAtOrBefore(schedule, now, taskId, slot);
  if (policy === 'skip') return slotAfter(schedule, now, taskId, slot);
  const oldest = firstSlotAtOrAfter(schedule, new Date(now.getTime() - policy.windowMs), taskId, slot);
  return oldest.getTime() > slot.getTime() ? oldest : slot;
}

/** The first slot strictly after `now`: where a new or rescheduled task starts its cycle. */
export function firstSlotAfter(schedule: Schedule, now: Date, taskId = 0): Date {
  return slotAfter(schedule, now, taskId, now);
}

/** The task's stable jitter offset in ms, in [0, jitter seconds): a hash of its id, the same everywhere. */
export function jitterOffsetMs(taskId: number, jitterSeconds: number | undefined): number {
  if (jitterSeconds === undefined || jitterSeconds <= 0) return 0;
  const digest = createHash('sha256').update(`vigil-jitter:${taskId}`).digest();
  // 48 bits of the hash, uniform enough over any bound up to a day of milliseconds.
  return digest.readUIntBE(0, 6) % (jitterSeconds * 1000);
}

/**
 * The first slot strictly after `t`. `anchor` is a slot the sequence goes through when it has no fixed grid (an
 * `every` schedule without jitter counts from the previous slot).
 */
function slotAfter(schedule: Schedule, t: Date, taskId: number, anchor: Date): Date {
  const offset = jitterOffsetMs(taskId, schedule.jitter);
  if ('every' in schedule) {
    const step = schedule.every * 1000;
    const base = gridBase(schedule, offset, anchor);
    return new Date(base + (Math.floor((t.getTime() - base) / step) + 1) * step);
  }
  return new Date(cronAfter(schedule, new Date(t.getTime() - offset)).getTime() + offset);
}

/** The latest slot not after `t`, and not before `floor` (a due slot that `t` has already passed). */
function latestSlotAtOrBefore(schedule: Schedule, t: Date, taskId: number, floor: Date): Date {
  const offset = jitterOffsetMs(taskId, schedule.jitter);
  let latest: number;
  if ('every' in schedule) {
    const step = schedule.every * 1000;
    const base = gridBase(schedule, offset, floor);
    latest = base + Math.floor((t.getTime() - base) / step) * step;
  } else {
    latest = cronExpression(schedule, new Date(t.getTime() - offset + 1)).prev().toDate().getTime() + offset;
  }
  return new Date(Math.max(latest, floor.getTime()));
}

/** The first slot at or after `t`. */
function firstSlotAtOrAfter(schedule: Schedule, t: Date, taskId: number, anchor: Date): Date {
  return slotAfter(schedule, new Date(t.getTime() - 1), taskId, anchor);
}

/** A time the `every` sequence goes through: the offset on the epoch grid with jitter, else the anchor slot. */
function gridBase(schedule: Schedule & { every: number }, offset: number, anchor: Date): number {
  return schedule.jitter === undefined || schedule.jitter <= 0 ? anchor.getTime() : offset;
}

function cronAfter(schedule: { cron: string; tz?: string | undefined }, after: Date): Date {
  return cronExpression(schedule, after).next().toDate();
}

function cronExpression(schedule: { cron: string; tz?: string | undefined }, currentDate: Date) {
  return CronExpressionParser.parse(schedule.cron, { currentDate, tz: schedule.tz ?? 'UTC' });
}

/** Whether cron-parser can compute occurrences of the line (node-cron's validator runs first, at the API). */
export function isComputableCron(cron: string, tz: string | undefined): boolean {
  try {
    CronExpressionParser.parse(cron, { tz: tz ?? 'UTC' }).next();
    return true;
  } catch {
    return false;
  }
}
