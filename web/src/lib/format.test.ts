import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatCount,
  formatDateTime,
  formatDuration,
  formatNextRuns,
  formatPercent,
  formatRelative,
  formatSchedule,
  formatSeconds,
} from './format.js';

const NOW = Date.parse('2025-03-01T12:00:00.000Z');
const UTC = { timeZone: 'UTC' };

describe('formatDuration', () => {
  it.each([
    [0, '0 ms'],
    [840, '840 ms'],
    [1000, '1 s'],
    [1540, '1.5 s'],
    [42_000, '42 s'],
    [185_000, '3 min 5 s'],
    [3_600_000, '1 h'],
    [7_500_000, '2 h 5 min'],
    [3 * 86_400_000 + 4 * 3_600_000 + 59_000, '3 d 4 h'],
    [-250, '-250 ms'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('shows a dash for a missing value', () => {
    expect(formatDuration(null)).toBe('—');
    expect(formatDuration(undefined)).toBe('—');
    expect(formatDuration(Number.NaN)).toBe('—');
  });
});

describe('formatSeconds', () => {
  it('keeps the two largest units and drops zero tails', () => {
    expect(formatSeconds(59)).toBe('59 s');
    expect(formatSeconds(60)).toBe('1 min');
    expect(formatSeconds(3660)).toBe('1 h 1 min');
    expect(formatSeconds(86_400 + 30)).toBe('1 d');
  });
});

describe('formatSchedule', () => {
  it('says every N seconds under two minutes, and larger units above', () => {
    expect(formatSchedule({ every: 1 })).toBe('every 1 s');
    expect(formatSchedule({ every: 60 })).toBe('every 60 s');
    expect(formatSchedule({ every: 90 })).toBe('every 90 s');
    expect(formatSchedule({ every: 300 })).toBe('every 5 min');
    expect(formatSchedule({ every: 5400 })).toBe('every 1 h 30 min');
    expect(formatSchedule({ every: 86_400 })).toBe('every 1 d');
  });

  it('writes a cron line with its time zone, UTC when none is set', () => {
    expect(formatSchedule({ cron: '*/5 * * * *', tz: 'Asia/Tokyo' })).toBe('*/5 * * * * Asia/Tokyo');
    expect(formatSchedule({ cron: '0 9 * * 1-5' })).toBe('0 9 * * 1-5 UTC');
  });
});

describe('formatRelative', () => {
  it.each([
    ['2025-03-01T12:00:00.400Z', 'now'],
    ['2025-03-01T12:00:05.000Z', 'in 5 s'],
    ['2025-03-01T11:57:00.000Z', '3 min ago'],
    ['2025-03-01T10:00:00.000Z', '2 h ago'],
    ['2025-03-05T12:00:00.000Z', 'in 4 d'],
  ])('%s → %s', (iso, text) => {
    expect(formatRelative(iso, NOW)).toBe(text);
  });

  it('shows a dash for a missing or broken time', () => {
    expect(formatRelative(null, NOW)).toBe('—');
    expect(formatRelative('not a time', NOW)).toBe('—');
  });
});

describe('formatDateTime and formatNextRuns', () => {
  it('writes an absolute time to the second in the given zone', () => {
    expect(formatDateTime('2025-03-01T12:05:09.123Z', UTC)).toBe('2025-03-01 12:05:09');
    expect(formatDateTime('2025-03-01T12:05:09.123Z', { timeZone: 'Asia/Tokyo' })).toBe('2025-03-01 21:05:09');
    expect(formatDateTime(null)).toBe('—');
  });

  it('lists next runs as times of day when they are within a day, as dates otherwise', () => {
    const soon = ['2025-03-01T12:05:00.000Z', '2025-03-01T12:10:00.000Z', '2025-03-01T12:15:00.000Z'];
    expect(formatNextRuns(soon, NOW, UTC)).toBe('12:05:00, 12:10:00, 12:15:00');
    const later = ['2025-03-01T12:05:00.000Z', '2025-03-08T12:05:00.000Z'];
    expect(formatNextRuns(later, NOW, UTC)).toBe('2025-03-01 12:05:00, 2025-03-08 12:05:00');
    expect(formatNextRuns([], NOW)).toBe('—');
  });
});

describe('numbers', () => {
  it('formats counts, bytes and percentages', () => {
    expect(formatCount(12_345)).toBe('12,345');
    expect(formatCount(null)).toBe('—');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(2 * 1024 * 1024)).toBe('2 MiB');
    expect(formatPercent(199, 200)).toBe('99.5%');
    expect(formatPercent(1, 0)).toBe('—');
  });
});
