import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type VigilChild, childEnv, deleteStreams, insertDueTasks, killAll, runLines, spawnVigil, waitReady } from './support/children.js';
import { type TestStore, createTestStore, uniqueName, waitFor } from './support/services.js';

/**
 * Catch-up policies (issue 14, item 6) across real downtime: tasks every 2 s run under one scheduler process,
 * which is stopped for several periods; a new process then starts, and each task's missed slots are treated as its
 * `schedule.catch_up` says: `collapse` one run for all of them (the latest), `skip` none (the next future slot runs),
 * `{"window": "5s"}` each missed slot within the last 5 s, oldest first. In stream mode and in polling mode.
 */

const EVERY_S = 2;
const DOWN_MS = 7500;
const WINDOW_MS = 5000;

describe.each<{ mode: string; extra: Record<string, string> }>([
  { mode: 'stream', extra: {} },
  { mode: 'polling', extra: { APP_ENABLE_REDIS_QUEUE: 'false' } },
])('catch-up after a scheduler was down ($mode mode)', ({ mode, extra }) => {
  let db: TestStore;
  const stream = uniqueName(`vigil_catchup_${mode}`);
  const children: VigilChild[] = [];

  beforeAll(async () => {
    db = await createTestStore('mysql', `catchup_${mode}`);
  });

  afterAll(async () => {
    await killAll(children);
    await deleteStreams(stream);
    await db?.cleanup();
  });

  it('collapses, skips, or runs each missed slot within the window', { timeout: 120_000 }, async () => {
    const env = childEnv(db.env, stream, { APP_RECOVERY_TIMEOUT: '10s', ...extra });
    const wanted = mode === 'stream' ? 'redis_streams' : 'db_polling';
    const first = spawnVigil('scheduler', env);
    children.push(first);
    await waitReady(first);
    await first.waitForLine(new RegExp(`"mode":"${wanted}".*scheduler started`), 10_000);

    const { ids } = await insertDueTasks(db.store, [0, 1, 2].map(() => ({ type: 'count', every: EVERY_S })));
    const [collapse, skip, window] = ids as [number, number, number];
    await db.store.db.updateTable('tasks').set({ schedule_catch_up: 'collapse' }).where('id', '=', collapse).execute();
    await db.store.db.updateTable('tasks').set({ schedule_catch_up: 'skip' }).where('id', '=', skip).execute();
    await db.store.db.updateTable('tasks').set({ schedule_catch_up: `window:${WINDOW_MS}` }).where('id', '=', window).execute();

    // A couple of slots each under the first process, then it stops for several periods.
    await waitFor(() => ids.every((id) => runLines([first]).filter((r) => r.taskId === id).length >= 2), { timeoutMs: 20_000, message: 'two runs each' });
    first.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const stoppedAt = Date.now();
    const lastBefore = new Map(ids.map((id) => [id, Math.max(...runLines([first]).filter((r) => r.taskId === id).map((r) => Date.parse(r.slot)))]));
    // The downtime itself: nothing to wait on but the clock.
    await waitFor(() => Date.now() - stoppedAt >= DOWN_MS, { timeoutMs: DOWN_MS + 5000, intervalMs: 200, message: 'the downtime' });

    const second = spawnVigil('scheduler', env);
    children.push(second);
    const restartedAt = Date.now();
    await waitReady(second);
    // Runs after the restart until every task has run a slot due after it.
    await waitFor(
      () => ids.every((id) => runLines([second]).some((r) => r.taskId === id && Date.parse(r.slot) > restartedAt)),
      { timeoutMs: 30_000, message: 'a slot after the restart for every task' },
    );
    const rows = await db.store.db.selectFrom('task_runs').select(['task_id', 'slot', 'started_at']).orderBy('slot').execute();
    /** Runs started after the restart: slot and start, in slot order. */
    const after = (id: number) =>
      rows
        .filter((r) => Number(r.task_id) === id && new Date(r.started_at).getTime() >= restartedAt)
        .map((r) => ({ slot: new Date(r.slot).getTime(), started: new Date(r.started_at).getTime() }));
    const period = EVERY_S * 1000;

    for (const id of ids) {
      const slots = after(id).map((r) => r.slot);
      // Each slot ran once, in order, and the downtime did miss several periods.
      expect(new Set(slots).size).toBe(slots.length);
      expect((slots[0] as number) - (lastBefore.get(id) ?? 0)).toBeGreaterThan(period);
      expect(slots.length).toBeGreaterThan(0);
    }
    // collapse: one run for every missed slot, at once: the latest slot that was due when it started.
    const [c1, c2] = after(collapse);
    expect(c1 && c1.slot).toBeLessThanOrEqual(c1?.started ?? 0);
    expect(c1 && c1.slot).toBeGreaterThan((c1?.started ?? 0) - period - 500);
    if (c2 !== undefined) expect(c2.slot - (c1?.slot ?? 0)).toBe(period);
    // skip: no missed slot ran; the first run is a slot that was still ahead at the restart, run on time.
    const [s1] = after(skip);
    expect(s1 && s1.slot).toBeGreaterThan(restartedAt);
    expect((s1?.started ?? 0) - (s1?.slot ?? 0)).toBeLessThan(period);
    // window: the missed slots within the last 5 s, oldest first, one period apart; not the older ones.
    const windowed = after(window);
    const w1 = windowed[0];
    expect(w1 && w1.slot).toBeLessThanOrEqual((w1?.started ?? 0) - period);
    expect(w1 && w1.slot).toBeGreaterThanOrEqual((w1?.started ?? 0) - WINDOW_MS - 500);
    expect(windowed.filter((r) => r.slot < (w1?.started ?? 0)).length).toBeGreaterThanOrEqual(2);
    windowed.slice(1).forEach((r, i) => expect(r.slot - (windowed[i]?.slot ?? 0)).toBe(period));
  });
});
