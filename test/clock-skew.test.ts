import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type HandlerSpan,
  type VigilChild,
  childClockOffsetMs,
  childEnv,
  deleteStreams,
  faketimeEnv,
  findLibfaketime,
  handlerSpans,
  insertDueTasks,
  killAll,
  spawnVigil,
  waitForOutcomes,
  waitReady,
} from './support/children.js';
import { type TestStore, createTestStore, uniqueName, waitFor } from './support/services.js';

/**
 * Issue 11, item 4 (G3): leases and due times are judged by the database's clock, so clock skew between hosts
 * changes nothing. Two real scheduler processes share one store: one runs under a wall clock shifted by Debian's
 * faketime (25 s ahead, or 25 s behind), the other on the true clock. Leases are short (6 s) and every handler
 * outlives its lease (9 s), so the leases live only by renewal. The slots fell due 30 s ago, so that they are due
 * by either clock. Judged by the processes' own clocks, the one ahead
 * takes the other's live leases, and the one behind writes leases that the other takes at once: a slot runs twice
 * at the same time. No slot may ever have two attempts running at once, and with nothing crashing, every slot runs
 * exactly once.
 */

// Two pools of 8 with no buffer: each process holds at most 8 slots, so both run handlers.
const TASKS = 16;
const HANDLER_MS = 9000;
const RECOVERY_TIMEOUT = '12s'; // leases of 6 s, renewed every 2 s
const SKEW_S = 25;

const libfaketime = findLibfaketime();
if (libfaketime === undefined) {
  console.warn('[clock-skew] SKIPPED: libfaketime is not installed (apt-get install faketime); .ci/run installs it');
}

describe.skipIf(libfaketime === undefined).each([
  { shift: `+${SKEW_S}s`, mode: 'stream' as const },
  { shift: `-${SKEW_S}s`, mode: 'polling' as const },
])('two schedulers, one with its clock $shift ($mode mode)', ({ shift, mode }) => {
  let db: TestStore;
  const stream = uniqueName('vigil_skew');
  const children: VigilChild[] = [];

  beforeAll(async () => {
    db = await createTestStore('mysql', `clock_skew_${mode}`);
  });

  beforeEach(() => killAll(children));

  afterAll(async () => {
    await killAll(children);
    await deleteStreams(stream);
    await db?.cleanup();
  });

  it('never runs two attempts of a slot at once, and runs each slot once', async () => {
    const skewed = faketimeEnv(shift);
    // The shift must really reach Node's Date.now(), or this test proves nothing.
    const offset = childClockOffsetMs(skewed);
    expect(Math.abs(offset - Math.sign(offset) * SKEW_S * 1000)).toBeLessThan(2000);
    expect(Math.sign(offset)).toBe(shift.startsWith('-') ? -1 : 1);

    const env = (extra: Record<string, string>) =>
      childEnv(db.env, stream, {
        APP_RECOVERY_TIMEOUT: RECOVERY_TIMEOUT,
        APP_WORKER_POOL_SIZE: '8',
        APP_QUEUE_CAPACITY: '0',
        ...(mode === 'polling' ? { APP_ENABLE_REDIS_QUEUE: 'false' } : {}),
        ...extra,
      });
    const shifted = spawnVigil('scheduler', env(skewed));
    const honest = spawnVigil('scheduler', env({}));
    children.push(shifted, honest);
    await Promise.all([waitReady(shifted), waitReady(honest)]);

    const { ids, slot } = await insertDueTasks(
      db.store,
      Array.from({ length: TASKS }, () => ({ type: 'span', payload: { ms: HANDLER_MS }, maxAttempts: 5, timeoutMs: 60_000 })),
      new Date(Date.now() - 30_000),
    );
    await waitForOutcomes(db.store, ids, {
      timeoutMs: 60_000,
      what: 'every slot to reach an outcome',
    });
    // Every handler call has stopped (an aborted one says so when it stops).
    await waitFor(() => handlerSpans(children).every((s) => s.endMs !== undefined), { timeoutMs: 15_000, message: 'every handler to stop' });

    const spans = handlerSpans(children).filter((s) => ids.includes(s.taskId));
    const overlaps: string[] = [];
    const bySlot = new Map<string, HandlerSpan[]>();
    for (const span of spans) bySlot.set(`${span.taskId}/${span.slot}`, [...(bySlot.get(`${span.taskId}/${span.slot}`) ?? []), span]);
    for (const [key, list] of bySlot) {
      list.sort((a, b) => a.startMs - b.startMs);
      for (let i = 1; i < list.length; i += 1) {
        const previous = list[i - 1] as HandlerSpan;
        const next = list[i] as HandlerSpan;
        if (next.startMs < (previous.endMs ?? Number.POSITIVE_INFINITY)) {
          overlaps.push(`${key}: attempt ${next.attempt} (pid ${next.pid}) started ${Math.round((previous.endMs ?? 0) - next.startMs)} ms before attempt ${previous.attempt} (pid ${previous.pid}) stopped`);
        }
      }
    }
    const runs = await db.store.db.selectFrom('task_runs').selectAll().where('task_id', 'in', ids).execute();
    const byPid = new Map<number | undefined, number>();
    for (const span of spans) byPid.set(span.pid, (byPid.get(span.pid) ?? 0) + 1);
    console.log(
      `[clock-skew ${shift} ${mode}] slots=${TASKS} handler_calls=${spans.length} run_rows=${runs.length} ` +
        `calls_by_shifted=${byPid.get(shifted.child.pid) ?? 0} calls_by_true=${byPid.get(honest.child.pid) ?? 0} overlaps=${overlaps.length}`,
    );
    expect(overlaps, overlaps.slice(0, 5).join('\n')).toEqual([]);
    // Both processes ran handlers, so the skew was tested against a live neighbour.
    expect(byPid.get(shifted.child.pid) ?? 0).toBeGreaterThan(0);
    expect(byPid.get(honest.child.pid) ?? 0).toBeGreaterThan(0);
    // Nothing crashed, so nothing had to run again: one attempt per slot, succeeded, by the database's record too.
    expect(spans).toHaveLength(TASKS);
    expect(runs).toHaveLength(TASKS);
    for (const run of runs) {
      expect(run).toMatchObject({ attempt: 1, status: 'succeeded' });
      expect(new Date(run.slot).getTime()).toBe(slot.getTime());
    }

    shifted.kill('SIGTERM');
    honest.kill('SIGTERM');
    expect(await shifted.exited).toBe(0);
    expect(await honest.exited).toBe(0);
  }, 120_000);
});
