import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../internal/app/index.js';
import {
  type SchedFixture,
  allRuns,
  createSchedFixture,
  holdsFor,
  insertTasks,
  lagCount,
  ms,
  pendingCount,
  postTask,
  runsOfTask,
  streamEntries,
  streamKeys,
} from './support/sched-fixture.js';
import { waitFor } from './support/services.js';
import { testRegistry } from './support/test-types.js';

/**
 * G3 against duplicate delivery (stream mode): one slot published many times (by hand, by the periodic publisher,
 * before the claim, during the run and after the outcome) runs once; and two processes sharing the stream and the
 * database, each with its API, publisher and consumer, never run a slot twice.
 */

interface HandlerCall {
  taskId: number;
  slot: number;
  attempt: number;
}

/** Holds the app's stream reads (so that entries stay in the stream) and lets them go again. */
function scheduler(app: App) {
  const s = app.scheduler;
  if (s === undefined || s.mode !== 'redis_streams') throw new Error('the app is not in stream mode');
  return { streamSource: { stop: () => s.pauseStreamReads(), start: () => void s.resumeStreamReads() } };
}

describe('one slot published many times (stream mode)', () => {
  let fx: SchedFixture;
  let app: App;
  const calls: HandlerCall[] = [];

  beforeAll(async () => {
    fx = await createSchedFixture('dup_single');
    const registry = testRegistry({ onRun: (c) => calls.push({ taskId: c.taskId, slot: c.slot.getTime(), attempt: c.attempt }) });
    ({ app } = await fx.startApp('stream', { registry }));
  });

  afterAll(async () => {
    await fx?.cleanup();
  });

  it('runs the slot exactly once', async () => {
    const p3 = streamKeys(fx.stream)[2] as string;
    const { streamSource } = scheduler(app);
    // Hold the consumer so that every copy below is in the stream before any is read.
    await streamSource.stop();

    const [taskId] = await insertTasks(fx.store, {
      count: 1,
      namePrefix: 'dup-single',
      type: 'sleep',
      payload: { ms: 400 },
      every: 3600,
      priority: 3,
    });
    const id = taskId as number;
    const row = await fx.store.db.selectFrom('tasks').select('next_run_at').where('id', '=', id).executeTakeFirstOrThrow();
    const slot = new Date(ms(row.next_run_at)).toISOString();
    const publishByHand = async (source: string) => {
      for (let i = 0; i < 3; i += 1) {
        await fx.redis.xadd(p3, '*', 'task_id', String(id), 'slot', slot, 'source', source, 'enqueued_at', new Date().toISOString());
      }
    };
    await publishByHand('api');
    // The task is also due for the periodic publisher, which publishes it on its own.
    await waitFor(async () => (await streamEntries(fx.redis, p3)).some((e) => e.fields.source === 'periodic' && e.fields.task_id === String(id)), {
      message: 'the periodic publisher to publish the slot too',
    });

    streamSource.start();
    await waitFor(async () => (await runsOfTask(fx.store, id)).some((r) => r.status === 'running'), { message: 'the run to start' });
    // More copies while the slot runs, and more after its outcome is recorded.
    await publishByHand('periodic');
    await waitFor(async () => (await runsOfTask(fx.store, id)).every((r) => r.status === 'succeeded'), { message: 'the run to end' });
    await publishByHand('retry');

    // Every copy was delivered and acknowledged.
    await waitFor(async () => (await lagCount(fx.redis, fx.stream)) === 0 && (await pendingCount(fx.redis, fx.stream)) === 0, {
      message: 'every entry to be consumed and acknowledged',
    });
    // Nine copies by hand and at least one by the publisher went into the stream (counted by Redis, so that a
    // trim of acknowledged entries in the meantime does not matter).
    const info = (await fx.redis.xinfo('STREAM', p3)) as unknown[];
    const added = Number(info[info.indexOf('entries-added') + 1]);
    expect(added).toBeGreaterThanOrEqual(10);

    const runs = await runsOfTask(fx.store, id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ attempt: 1, status: 'succeeded' });
    expect(ms(runs[0]?.slot ?? null)).toBe(Date.parse(slot));
    expect(calls.filter((c) => c.taskId === id)).toHaveLength(1);
  });
});

describe('two processes on one stream and one database (stream mode)', () => {
  const TASKS = 200;
  let fx: SchedFixture;
  const calls: HandlerCall[] = [];
  let urls: string[] = [];

  beforeAll(async () => {
    fx = await createSchedFixture('dup_two_apps');
    const onRun = (c: { taskId: number; slot: Date; attempt: number }) => calls.push({ taskId: c.taskId, slot: c.slot.getTime(), attempt: c.attempt });
    const a = await fx.startApp('stream', { registry: testRegistry({ onRun }) });
    const b = await fx.startApp('stream', { registry: testRegistry({ onRun }) });
    urls = [a.url, b.url];
  });

  afterAll(async () => {
    await fx?.cleanup();
  });

  it('runs every slot exactly once', async () => {
    // Created through both APIs (each publishes), then due again every 2 s for both publishers.
    const ids: number[] = [];
    for (let i = 0; i < TASKS; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: 20 }, (_, j) =>
          postTask(urls[(i + j) % 2] as string, { name: `shared ${i + j}`, type: 'count', schedule: { every: 2 } }),
        ),
      );
      for (const created of batch) {
        expect(created.queued_via).toBe('stream');
        ids.push(created.id);
      }
    }

    // Wait until every task has run at least two slots, then stop both processes.
    await waitFor(async () => {
      const rows = await fx.store.db
        .selectFrom('task_runs')
        .select('task_id')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('status', '=', 'succeeded')
        .groupBy('task_id')
        .execute();
      return rows.length === TASKS && rows.every((r) => Number(r.n) >= 2);
    }, { timeoutMs: 40_000, intervalMs: 200, message: 'every task to run two slots' });
    await fx.stopApps();

    const runs = await allRuns(fx.store);
    expect(new Set(runs.map((r) => Number(r.task_id)))).toEqual(new Set(ids));
    const bySlot = new Map<string, typeof runs>();
    for (const r of runs) {
      const key = `${r.task_id}@${ms(r.slot)}`;
      bySlot.set(key, [...(bySlot.get(key) ?? []), r]);
    }
    expect(bySlot.size).toBeGreaterThanOrEqual(2 * TASKS);
    let rerun = 0;
    for (const [key, attempts] of bySlot) {
      // Exactly one outcome per slot, and one run, unless its executor was taken for dead (a lease that expired
      // on a loaded machine): then the lost attempt is failed and the slot runs again, never beside it.
      expect(attempts.filter((r) => r.status === 'succeeded'), key).toHaveLength(1);
      expect(attempts.map((r) => r.attempt), key).toEqual(attempts.map((_, i) => i + 1));
      expect(attempts.at(-1)?.status, key).toBe('succeeded');
      for (let i = 1; i < attempts.length; i += 1) {
        rerun += 1;
        expect(attempts[i - 1], key).toMatchObject({ status: 'failed', error: 'executor lost: lease expired' });
        expect(attempts[i]?.source, key).toBe('recovery');
        expect(ms(attempts[i]?.started_at ?? null), key).toBeGreaterThanOrEqual(ms(attempts[i - 1]?.finished_at ?? null));
      }
    }
    if (rerun > 0) console.log(`two processes: ${rerun} of ${bySlot.size} slots re-run after an expired lease`);
    // Handler calls, counted in the processes themselves: one per recorded attempt, none twice.
    const callKeys = calls.map((c) => `${c.taskId}@${c.slot}#${c.attempt}`);
    expect(new Set(callKeys).size).toBe(callKeys.length);
    expect(new Set(callKeys)).toEqual(new Set(runs.map((r) => `${r.task_id}@${ms(r.slot)}#${r.attempt}`)));
    // Both processes did part of the work.
    expect(new Set(runs.map((r) => r.worker)).size).toBe(2);
    // Slots of a task follow its schedule: increasing, whole multiples of the interval apart.
    const byTask = new Map<number, number[]>();
    for (const r of runs.filter((run) => run.status === 'succeeded')) {
      byTask.set(Number(r.task_id), [...(byTask.get(Number(r.task_id)) ?? []), ms(r.slot)]);
    }
    for (const slots of byTask.values()) {
      slots.sort((x, y) => x - y);
      for (let i = 1; i < slots.length; i += 1) {
        const gap = (slots[i] as number) - (slots[i - 1] as number);
        expect(gap % 2000).toBe(0);
        expect(gap).toBeGreaterThan(0);
      }
    }
  });
});

describe('an entry whose task row is briefly locked by another writer (stream mode)', () => {
  let fx: SchedFixture;
  let app: App;

  beforeAll(async () => {
    fx = await createSchedFixture('dup_locked_row');
    // Queue marks of 30 s: an entry taken for a duplicate would leave the slot waiting that long for a re-publish.
    ({ app } = await fx.startApp('stream', { env: { APP_RECOVERY_TIMEOUT: '60s' } }));
  });

  afterAll(async () => {
    await fx?.cleanup();
  });

  it('is not acknowledged as a duplicate: the slot runs from that entry once the lock is gone', async () => {
    const p3 = streamKeys(fx.stream)[2] as string;
    const { streamSource } = scheduler(app);
    await streamSource.stop();
    // A task as POST /tasks leaves it: due now, marked as queued, and its entry in the stream.
    const [taskId] = await insertTasks(fx.store, { count: 1, namePrefix: 'locked-row', type: 'count', every: 3600 });
    const id = taskId as number;
    await fx.store.db.updateTable('tasks').set({ queued_until: new Date(Date.now() + 60_000) }).where('id', '=', id).execute();
    const row = await fx.store.db.selectFrom('tasks').select('next_run_at').where('id', '=', id).executeTakeFirstOrThrow();
    await fx.redis.xadd(p3, '*', 'task_id', String(id), 'slot', new Date(ms(row.next_run_at)).toISOString(), 'source', 'api', 'enqueued_at', new Date().toISOString());

    // Another writer (a publisher's scan, a PATCH, a run-now) holds the row while the consumer reads the entry.
    let release = () => undefined as void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let locked = () => undefined as void;
    const isLocked = new Promise<void>((resolve) => {
      locked = resolve;
    });
    const holder = fx.store.db.transaction().execute(async (trx) => {
      await trx.selectFrom('tasks').select('id').where('id', '=', id).forUpdate().execute();
      locked();
      await released;
    });
    await isLocked;
    try {
      streamSource.start();
      await waitFor(async () => (await lagCount(fx.redis, fx.stream)) === 0, { message: 'the entry to be delivered' });
      // Delivered but not acknowledged while its row is held: the consumer waits for the row, it does not drop it.
      await holdsFor(async () => (await pendingCount(fx.redis, fx.stream)) === 1, 300, 'the entry stays pending');
    } finally {
      release();
      await holder;
    }

    const runs = await waitFor(async () => {
      const all = await runsOfTask(fx.store, id);
      return all[0]?.status === 'succeeded' ? all : undefined;
    }, { timeoutMs: 5000, message: 'the slot to run from its entry, well before its queue mark expires' });
    expect(runs.map((r) => [r.attempt, r.source])).toEqual([[1, 'api']]);
    await waitFor(async () => (await pendingCount(fx.redis, fx.stream)) === 0, { message: 'the entry to be acknowledged' });
  });
});
