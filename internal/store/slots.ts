import { CronExpressionParser } from 'cron-parser';
import type { Schedule } from './types.js';

/**
 * Slot arithmetic. A slot is one due time of a task. After a slot ends, the next one is the first slot after it;
 * when that is already in the past (the run overran, or the service was down), every missed slot collapses into
 * one: the latest slot not after `now`, which runs at once.
 */
export function nextSlot(schedule: Schedule, previous: Date, now: Date): Date {
  if ('every' in schedule) {
    const step = schedule.every * 1000;
    const first = previous.getTime() + step;
    if (first > now.getTime()) return new Date(first);
    const missed = Math.floor((now.getTime() - previous.getTime()) / step);
    return new Date(previous.getTime() + missed * step);
  }
  const first = cronAfter(schedule, previous);
  if (first.getTime() > now.getTime()) return first;
  // The latest occurrence not after now; at least `first`, which is already due.
  const latest = cronExpression(schedule, new Date(now.getTime() + 1)).prev().toDate();
  return latest.getTime() >= first.getTime() ? latest : first;
}

/** The first slot strictly after `now`: where a new or rescheduled task starts its cycle. */
export function firstSlotAfter(schedule: Schedule, now: Date): Date {
  if ('every' in schedule) return new Date(now.getTime() + schedule.every * 1000);
  return cronAfter(schedule, now);
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
