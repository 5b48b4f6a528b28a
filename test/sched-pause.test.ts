import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type SchedFixture,
  SCHED_MODES,
  createSchedFixture,
  holdsFor,
  insertTasks,
  postTask,
  runsOfTask,
} from './support/sched-fixture.js';
import { type Dialect, waitFor } from './support/services.js';

/**
 * Issue 11, item 5: a paused (or deleted) task starts nothing once the PATCH (or DELETE) has answered, even a claim
 * that was already waiting in the worker pool's buffer; the claim's lease is given back and the slot waits for the
 * task to resume. One worker is kept busy by a slow task so that the claims of the others sit in the buffer.
 */

const BLOCK_MS = 2500;
const BUFFERED = 5;

async function patch(url: string, id: number, body: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${url}/tasks/${id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
}

const CASES: { mode: (typeof SCHED_MODES)[number]; dialect: Dialect }[] = [
  ...SCHED_MODES.map((mode) => ({ mode, dialect: 'mysql' as const })),
  { mode: 'polling', dialect: 'sqlite' },
];

describe.each(CASES)('claims buffered in the pool of a paused task ($mode mode, $dialect)', ({ mode, dialect }) => {
  let fx: SchedFixture;
  let url: string;

  beforeAll(async () => {
    fx = await createSchedFixture(`pause_${mode}_${dialect}`, dialect);
    ({ url } = await fx.startApp(mode, { env: { APP_WORKER_POOL_SIZE: '1', APP_QUEUE_CAPACITY: '20' } }));
  });

  afterAll(async () => {
    await fx?.cleanup();
  });

  it('start nothing after the PATCH or DELETE answered, and the paused slot runs once the task resumes', async () => {
    const blocker = await postTask(url, { name: 'keeps the only worker busy', type: 'sleep', payload: { ms: BLOCK_MS }, schedule: { every: 3600 } });
    await waitFor(async () => (await runsOfTask(fx.store, blocker.id)).some((r) => r.status === 'running'), { message: 'the blocker to run' });

    const ids = await insertTasks(fx.store, { count: BUFFERED + 1, namePrefix: `paused-${mode}-${dialect}`, type: 'count', every: 3600 });
    const deleted = ids.pop() as number;
    // Every claim is in this process's buffer: leased, not started.
    await waitFor(
      async () => {
        const rows = await fx.store.db.selectFrom('tasks').select(['lease_token']).where('id', 'in', [...ids, deleted]).execute();
        return rows.length === BUFFERED + 1 && rows.every((r) => r.lease_token !== null);
      },
      { message: 'the claims to wait in the buffer' },
    );
    const slots = new Map(
      (await fx.store.db.selectFrom('tasks').select(['id', 'next_run_at']).where('id', 'in', ids).execute()).map((r) => [Number(r.id), new Date(r.next_run_at).getTime()]),
    );
    expect((await runsOfTask(fx.store, blocker.id)).every((r) => r.status === 'running')).toBe(true);
    for (const id of ids) await patch(url, id, { status: 'paused' });
    const res = await fetch(`${url}/tasks/${deleted}`, { method: 'DELETE' });
    expect(res.status).toBe(204);

    // The worker frees up; the buffered claims come to their starts and must all be refused.
    await waitFor(async () => (await runsOfTask(fx.store, blocker.id)).every((r) => r.status !== 'running'), { message: 'the blocker to end' });
    const unstarted = async () => {
      const runs = await fx.store.db.selectFrom('task_runs').select('id').where('task_id', 'in', [...ids, deleted]).execute();
      return runs.length === 0;
    };
    // Each paused claim is given back: no lease, no attempt used, the same slot waiting.
    await waitFor(
      async () => {
        const rows = await fx.store.db.selectFrom('tasks').select(['lease_token']).where('id', 'in', ids).execute();
        return rows.every((r) => r.lease_token === null);
      },
      { timeoutMs: 10_000, message: 'the paused claims to be given back' },
    );
    await holdsFor(unstarted, 1000, 'a paused or deleted task started a run');
    const rows = await fx.store.db.selectFrom('tasks').selectAll().where('id', 'in', ids).execute();
    for (const row of rows) {
      expect(row).toMatchObject({ status: 'paused', attempts: 0, lease_token: null });
      expect(new Date(row.next_run_at).getTime()).toBe(slots.get(Number(row.id)));
    }

    // Resumed, the slot that waited runs, once.
    const [resumed] = ids as [number];
    await patch(url, resumed, { status: 'running' });
    await waitFor(async () => (await runsOfTask(fx.store, resumed)).some((r) => r.status === 'succeeded'), { message: 'the resumed task to run' });
    const runs = await runsOfTask(fx.store, resumed);
    expect(runs).toHaveLength(1);
    expect(new Date(runs[0]?.slot as Date).getTime()).toBe(slots.get(resumed));
  }, 60_000);
});
