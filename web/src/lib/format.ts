/**
 * Every duration, schedule, time and number the dashboard shows is formatted here, so that one page never says
 * "60s" where another says "1 min". Pure functions: the clock, locale and time zone are parameters.
 */

const DASH = '—';

/** A schedule as the API writes it. */
export type Schedule = { every: number } | { cron: string; tz?: string };

/** Milliseconds in words: `840 ms`, `1.5 s`, `42 s`, `3 min 5 s`, `2 h 5 min`, `3 d 4 h`. Null is a dash. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return DASH;
  const abs = Math.abs(ms);
  const sign = ms < 0 ? '-' : '';
  if (abs < 1000) return `${sign}${Math.round(abs)} ms`;
  if (abs < 10_000) return `${sign}${trimZero((abs / 1000).toFixed(1))} s`;
  const seconds = Math.round(abs / 1000);
  return sign + formatSeconds(seconds);
}

/** Whole seconds in a unit and the one below it: `42 s`, `3 min 5 s`, `2 h`, `1 d 6 h` (the rest is dropped). */
export function formatSeconds(total: number): string {
  const units: [number, string][] = [
    [86_400, 'd'],
    [3600, 'h'],
    [60, 'min'],
    [1, 's'],
  ];
  if (total < 60) return `${total} s`;
  const first = units.findIndex(([size]) => total >= size);
  const [size, name] = units[first] as [number, string];
  const whole = Math.floor(total / size);
  const below = units[first + 1];
  const rest = below === undefined ? 0 : Math.floor((total - whole * size) / below[0]);
  return rest > 0 && below !== undefined ? `${whole} ${name} ${rest} ${below[1]}` : `${whole} ${name}`;
}

/**
 * A schedule in words: `every 60 s`, `every 5 min`, `every 1 h 30 min`, or the cron line with its time zone
 * (`*\/5 * * * * Asia/Tokyo`; UTC when none is set, which is how the scheduler reads it).
 */
export function formatSchedule(schedule: Schedule): string {
  if ('every' in schedule) {
    // Under two minutes, seconds read best ("every 90 s"); above, the largest units do.
    return schedule.every < 120 ? `every ${schedule.every} s` : `every ${formatSeconds(schedule.every)}`;
  }
  return `${schedule.cron} ${schedule.tz ?? 'UTC'}`;
}

/** A time relative to now: `now`, `in 5 s`, `3 min ago`, `2 h ago`, `in 4 d`. Null is a dash. */
export function formatRelative(iso: string | null | undefined, nowMs: number): string {
  if (iso === null || iso === undefined) return DASH;
  const diff = Date.parse(iso) - nowMs;
  if (Number.isNaN(diff)) return DASH;
  if (Math.abs(diff) < 1000) return 'now';
  const seconds = Math.round(Math.abs(diff) / 1000);
  const amount =
    seconds < 60
      ? `${seconds} s`
      : seconds < 3600
        ? `${Math.floor(seconds / 60)} min`
        : seconds < 86_400
          ? `${Math.floor(seconds / 3600)} h`
          : `${Math.floor(seconds / 86_400)} d`;
  return diff > 0 ? `in ${amount}` : `${amount} ago`;
}

export interface TimeFormatOptions {
  /** BCP 47 locale; the browser's by default. */
  locale?: string;
  /** IANA zone; the browser's by default. */
  timeZone?: string;
}

/** An absolute date and time, to the second, in the reader's zone: `2025-03-01 14:05:09`. */
export function formatDateTime(iso: string | null | undefined, options: TimeFormatOptions = {}): string {
  if (iso === null || iso === undefined) return DASH;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return DASH;
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: options.timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(date);
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:${get('second')}`;
}

/** Only the time of day (`14:05:09`), for lists of times close together such as the next runs. */
export function formatTimeOfDay(iso: string, options: TimeFormatOptions = {}): string {
  return formatDateTime(iso, options).split(' ')[1] ?? DASH;
}

/**
 * The next runs, compactly: times of day when they all fall within a day of now, full dates otherwise.
 * `14:05:00, 14:10:00, 14:15:00`.
 */
export function formatNextRuns(isos: readonly string[], nowMs: number, options: TimeFormatOptions = {}): string {
  if (isos.length === 0) return DASH;
  const soon = isos.every((iso) => Math.abs(Date.parse(iso) - nowMs) < 86_400_000);
  return isos.map((iso) => (soon ? formatTimeOfDay(iso, options) : formatDateTime(iso, options))).join(', ');
}

/** A count with thousands separators: `12,345`. */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  return new Intl.NumberFormat('en-US').format(n);
}

/** Bytes in binary units: `512 B`, `1.5 KiB`, `2 MiB`. */
export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${trimZero(value.toFixed(1))} ${units[unit]}`;
}

/** A share as a percentage with at most one decimal: `99.5%`. Null when there is nothing to divide. */
export function formatPercent(part: number, whole: number): string {
  if (whole === 0) return DASH;
  return `${trimZero(((part / whole) * 100).toFixed(1))}%`;
}

function trimZero(text: string): string {
  return text.endsWith('.0') ? text.slice(0, -2) : text;
}
