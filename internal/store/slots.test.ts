import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { catchUpSlot, firstSlotAfter, jitterOffsetMs, nextSlot } from './slots.js';
import type { Schedule } from './types.js';

const d = (iso: string) => new Date(iso);
const ROOT = resolve(import.meta.dirname, '../..');

describe('schedule jitter', () => {
  const schedule: Schedule = { every: 60, jitter: 60 };
  const now = d('2026-01-01T00:00:00.000Z');
  const ids = Array.from({ length: 1000 }, (_, i) => i + 1);

  it("spreads 1,000 tasks' slots over the window instead of firing on the minute", () => {
    const slots = ids.map((id) => firstSlotAfter(schedule, now, id));
    // Every slot is on its task's minute grid, shifted by less than the jitter.
    for (const slot of slots) {
      expect(slot.getTime()).toBeGreaterThan(now.getTime());
      expect(slot.getTime()).toBeLessThan(now.getTime() + 60_000 + 60_000);
    }
    const offsets = slots.map((s) => s.getTime() % 60_000);
    // Ten buckets of six seconds each: each holds about a tenth of the tasks (100), none is empty or crowded.
    const buckets = Array.from({ length: 10 }, () => 0);
    for (const o of offsets) buckets[Math.floor(o / 6000)] = (buckets[Math.floor(o / 6000)] ?? 0) + 1;
    for (const count of buckets) {
      expect(count).toBeGreaterThan(60);
      expect(count).toBeLessThan(140);
    }
    // No second holds more than a handful: they do not fire together.
    const perSecond = new Map<number, number>();
    for (const o of offsets) perSecond.set(Math.floor(o / 1000), (perSecond.get(Math.floor(o / 1000)) ?? 0) + 1);
    expect(Math.max(...perSecond.values())).toBeLessThan(40);
    // Without jitter, tasks created together stay together.
    const unjittered = new Set(ids.map((id) => firstSlotAfter({ every: 60 }, now, id).getTime()));
    expect(unjittered.size).toBe(1);
  });

  it('keeps each task on its own offset, slot after slot', () => {
    for (const id of ids.slice(0, 50)) {
      const offset = jitterOffsetMs(id, 60);
      let slot = firstSlotAfter(schedule, now, id);
      for (let i = 0; i < 5; i += 1) {
        expect(slot.getTime() % 60_000).toBe(offset);
        slot = nextSlot(schedule, slot, slot, id);
      }
    }
  });

  it('shifts cron slots by the offset too, within the jitter', () => {
    const cron: Schedule = { cron: '0 * * * *', jitter: 300 };
    const later = d('2026-01-01T00:10:00.000Z');
    for (const id of ids.slice(0, 50)) {
      const slot = firstSlotAfter(cron, later, id);
      expect(slot.getTime() - d('2026-01-01T01:00:00.000Z').getTime()).toBe(jitterOffsetMs(id, 300));
      expect(jitterOffsetMs(id, 300)).toBeLessThan(300_000);
      expect(nextSlot(cron, slot, slot, id).getTime() - slot.getTime()).toBe(3_600_000);
    }
  });

  it('gives the same slots in another process (and so after a restart)', () => {
    const here = ids.map((id) => firstSlotAfter(schedule, now, id).toISOString());
    const script = `
      import { firstSlotAfter } from './internal/store/slots.ts';
      const now = new Date('${now.toISOString()}');
      const out = [];
      for (let id = 1; id <= 1000; id += 1) out.push(firstSlotAfter({ every: 60, jitter: 60 }, now, id).toISOString());
      process.stdout.write(JSON.stringify(out));
    `;
    const there = JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' }),
    ) as string[];
    expect(there).toEqual(here);
  });
});

describe('catch-up policies', () => {
  const base = { every: 60 } as const;
  const prev = d('2026-01-01T00:00:00Z');
  // Down from 00:00:30 to 00:05:30: the slots 00:01 … 00:05 were missed.
  const now = d('2026-01-01T00:05:30Z');

  it('collapse (the default): one run, at the latest missed slot', () => {
    expect(nextSlot(base, prev, now)).toEqual(d('2026-01-01T00:05:00Z'));
    expect(nextSlot({ ...base, catchUp: 'collapse' }, prev, now)).toEqual(d('2026-01-01T00:05:00Z'));
  });

  it('skip: the missed slots are dropped and the next future slot runs', () => {
    expect(nextSlot({ ...base, catchUp: 'skip' }, prev, now)).toEqual(d('2026-01-01T00:06:00Z'));
    // The stale slot itself, claimed after the downtime, moves to the future too.
    expect(catchUpSlot({ ...base, catchUp: 'skip' }, d('2026-01-01T00:01:00Z'), now)).toEqual(d('2026-01-01T00:06:00Z'));
  });

  it('window: each missed slot within the window, oldest first', () => {
    const schedule: Schedule = { ...base, catchUp: { windowMs: 150_000 } };
    // Within 2.5 min of now: 00:03, 00:04, 00:05.
    expect(nextSlot(schedule, prev, now)).toEqual(d('2026-01-01T00:03:00Z'));
    expect(nextSlot(schedule, d('2026-01-01T00:03:00Z'), now)).toEqual(d('2026-01-01T00:04:00Z'));
    expect(nextSlot(schedule, d('2026-01-01T00:04:00Z'), now)).toEqual(d('2026-01-01T00:05:00Z'));
    expect(nextSlot(schedule, d('2026-01-01T00:05:00Z'), now)).toEqual(d('2026-01-01T00:06:00Z'));
    expect(catchUpSlot(schedule, d('2026-01-01T00:01:00Z'), now)).toEqual(d('2026-01-01T00:03:00Z'));
    expect(catchUpSlot(schedule, d('2026-01-01T00:03:00Z'), now)).toEqual(d('2026-01-01T00:03:00Z'));
  });

  it('a slot that is merely late is not missed, under every policy', () => {
    for (const catchUp of ['collapse', 'skip', { windowMs: 1000 }] as const) {
      expect(catchUpSlot({ ...base, catchUp }, d('2026-01-01T00:05:00Z'), now)).toEqual(d('2026-01-01T00:05:00Z'));
    }
  });

  it('works on cron lines with jitter', () => {
    const cron: Schedule = { cron: '*/10 * * * *', jitter: 60, catchUp: 'skip' };
    const id = 7;
    const offset = jitterOffsetMs(id, 60);
    const late = d('2026-01-01T00:35:00Z');
    expect(catchUpSlot(cron, new Date(d('2026-01-01T00:00:00Z').getTime() + offset), late, id)).toEqual(
      new Date(d('2026-01-01T00:40:00Z').getTime() + offset),
    );
  });
});
