import Table from 'cli-table3';

/** Where a command writes; the process's streams, or buffers in tests. */
export interface Io {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** Borderless, aligned columns in the manner of kubectl: easy to read and to cut with awk. */
const PLAIN = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '  ',
};

/** Rows under a header, aligned; cells are shortened to `maxCell` characters. */
export function table(head: string[], rows: (string | number | null | undefined)[][], maxCell = 60): string {
  const t = new Table({ head, chars: PLAIN, style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 } });
  for (const row of rows) t.push(row.map((cell) => shorten(cell === null || cell === undefined ? '-' : String(cell), maxCell)));
  return `${t.toString().split('\n').map((line) => line.trimEnd()).join('\n')}\n`;
}

/** `label: value` lines, labels aligned, for one object. */
export function details(pairs: [string, string | number | null | undefined][]): string {
  const width = Math.max(...pairs.map(([label]) => label.length)) + 1;
  return pairs.map(([label, value]) => `${`${label}:`.padEnd(width)} ${value === null || value === undefined ? '-' : value}\n`).join('');
}

/** JSON for scripts: two-space indented, one trailing newline. */
export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** `every 60s`, or `cron 0 9 * * 1-5 (Asia/Tokyo)`. */
export function formatSchedule(schedule: { every: number } | { cron: string; tz?: string }): string {
  if ('every' in schedule) return `every ${formatSeconds(schedule.every)}`;
  return `cron ${schedule.cron}${schedule.tz === undefined ? '' : ` (${schedule.tz})`}`;
}

/** 90 → `90s`, 3600 → `1h`, 5400 → `90m`: the largest unit that divides evenly. */
export function formatSeconds(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** 1234 → `1.2s`, 45 → `45ms`, 90000 → `1.5m`. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)}m`;
  return `${(ms / 3_600_000).toFixed(1)}h`;
}

/** An ISO time relative to now: `3m ago`, `in 12s`; `-` for none. */
export function ago(iso: string | null | undefined, now: number = Date.now()): string {
  if (iso === null || iso === undefined) return '-';
  const delta = Date.parse(iso) - now;
  const text = formatMs(Math.abs(Math.round(delta / 1000) * 1000)).replace(/\.0(?=[smh])/, '');
  if (Math.abs(delta) < 1000) return 'now';
  return delta > 0 ? `in ${text}` : `${text} ago`;
}

function shorten(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}
