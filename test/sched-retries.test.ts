import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetterRow } from '../internal/store/index.js';
import {
  type SchedFixture,
  SCHED_MODES,
  createSchedFixture,
  getJson,
  holdsFor,
  ms,
  pendingCount,
  postTask,
  runsOfTask,
  streamKeys,
} from './support/sched-fixture.js';
import { waitFor } from './support/services.js';

/**
 * Retries and dead letters, end to end: a failing attempt is retried with backoff as a new attempt of the same
 * slot until it succeeds or its attempts are used up (then the slot is a dead letter with its last error), in
 * both modes. In stream mode, entries that cannot be processed become dead letters too, and the consumer goes on.
 */

async function deadLettersOf(fx: SchedFixture, where: { taskId?: number; reason?: string }): Promise<DeadLetterRow[]> {
  let query = fx.store.db.selectFrom('dead_letters').selectAll().orderBy('id', 'asc');
  if (where.taskId !== undefined) query = query.where('task_id', '=', where.taskId);
  if (where.reason !== undefined) query = query.where('reason', '=', where.reason as DeadLetterRow['reason']);
  return query.execute();
}

/** Waits until the task has `count` runs and none of them is still running. */
async function settledRuns(fx: SchedFixture, taskId: number, count: number) {
  return waitFor(
    async () => {
      const runs = await runsOfTask(fx.store, taskId);
      return runs.length >= count && runs.every((r) => r.status !== 'running') ? runs : undefined;
    },
    { timeoutMs: 15_000, message: `${count} finished runs of task ${taskId}` },
  );
}

describe.each(SCHED_MODES)('retries and exhausted slots (%s mode)', (mode) => {
  let fx: SchedFixture;
  let url: string;
  // In polling mode the create hands the task to this process directly, unless the poller claims it first.
  const firstSources = mode === 'stream' ? ['api'] : ['direct', 'poll'];

  beforeAll(async () => {
    fx = await createSchedFixture(`retries_${mode}`);
    ({ url } = await fx.startApp(mode));
  });

  afterAll(async () => {
    await fx?.cleanup();
  });

  it('retries a failing slot with backoff until it succeeds: three attempts, one success', async () => {
    const created = await postTask(url, {
      name: 'flaky twice',
      type: 'flaky',
      payload: { fail_times: 2 },
      schedule: { every: 3600 },
      max_attempts: 3,
    });
    expect(created.queued_via).toBe(mode === 'stream' ? 'stream' : 'direct');

    const runs = await settledRuns(fx, created.id, 3);
    // Nothing runs after the success: the next slot is an hour away.
    await holdsFor(async () => (await runsOfTask(fx.store, created.id)).length === 3, 300, 'no fourth attempt');

    const slot = ms(created.next_run_at as string);
    expect(runs.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(runs.map((r) => r.status)).toEqual(['failed', 'failed', 'succeeded']);
    expect(firstSources).toContain(runs[0]?.source);
    expect(runs.slice(1).map((r) => r.source)).toEqual(['retry', 'retry']);
    expect(runs.map((r) => ms(r.slot))).toEqual([slot, slot, slot]);
    expect(runs.map((r) => r.error)).toEqual(['flaky failure 1', 'flaky failure 2', null]);
    expect(runs.filter((r) => r.status === 'succeeded')).toHaveLength(1);
    // Each retry waited for its backoff (base 50 ms, equal jitter: at least half of it) after the failure.
    for (let i = 1; i < runs.length; i += 1) {
      const previous = runs[i - 1];
      const current = runs[i];
      expect(ms(current?.started_at ?? null) - ms(previous?.finished_at ?? null)).toBeGreaterThanOrEqual(25 * 2 ** (i - 1));
    }

    const task = await getJson<{ last_status: string; next_run_at: string }>(`${url}/tasks/${created.id}`);
    expect(task.body.last_status).toBe('succeeded');
    expect(ms(task.body.next_run_at)).toBe(slot + 3600_000);
    const history = await getJson<{ items: { attempt: number; status: string }[] }>(`${url}/tasks/${created.id}/runs`);
    expect(history.body.items.map((r) => r.attempt)).toEqual([3, 2, 1]);
    expect(await deadLettersOf(fx, { taskId: created.id })).toEqual([]);
  });

  it('turns a slot whose attempts are used up into one dead letter with the last error', async () => {
    const created = await postTask(url, {
      name: 'always failing',
      type: 'fail',
      schedule: { every: 3600 },
      max_attempts: 3,
    });

    const runs = await settledRuns(fx, created.id, 3);
    const dead = await waitFor(async () => {
      const rows = await deadLettersOf(fx, { taskId: created.id });
      return rows.length > 0 ? rows : undefined;
    });
    await holdsFor(async () => (await runsOfTask(fx.store, created.id)).length === 3, 300, 'no fourth attempt');

    const slot = ms(created.next_run_at as string);
    expect(runs.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(runs.map((r) => r.status)).toEqual(['failed', 'failed', 'failed']);
    expect(firstSources).toContain(runs[0]?.source);
    expect(runs.slice(1).map((r) => r.source)).toEqual(['retry', 'retry']);
    expect(new Set(runs.map((r) => ms(r.slot)))).toEqual(new Set([slot]));

    const task = await getJson<{ last_status: string; next_run_at: string }>(`${url}/tasks/${created.id}`);
    expect(task.body.last_status).toBe('failed');
    // The slot is over: the next one is the schedule's, not another attempt of this one.
    expect(ms(task.body.next_run_at)).toBe(slot + 3600_000);

    expect(dead).toHaveLength(1);
    const letter = dead[0] as DeadLetterRow;
    expect(letter.reason).toBe('attempts_exhausted');
    expect(Number(letter.task_id)).toBe(created.id);
    expect(ms(letter.slot)).toBe(slot);
    expect(letter.error).toBe('always fails');
    expect(JSON.parse(letter.fields)).toMatchObject({ task_id: created.id, type: 'fail', attempts: 3 });
  });
});

describe('entries that cannot be processed (stream mode)', () => {
  let fx: SchedFixture;
  let url: string;
  let p3: string;

  beforeAll(async () => {
    fx = await createSchedFixture('retries_bad_entries');
    ({ url } = await fx.startApp('stream'));
    p3 = streamKeys(fx.stream)[2] as string;
    expect(p3).toBe(`{${fx.stream}}:p3`);
  });

  afterAll(async () => {
    await fx?.cleanup();
  });

  it('dead-letters malformed entries with their original fields, acknowledges them and carries on', async () => {
    const slot = new Date().toISOString();
    const noTaskId = await fx.redis.xadd(p3, '*', 'foo', 'bar', 'slot', slot);
    const badTaskId = await fx.redis.xadd(p3, '*', 'task_id', 'abc', 'slot', slot, 'source', 'periodic');

    const dead = await waitFor(async () => {
      const rows = await deadLettersOf(fx, { reason: 'malformed' });
      return rows.length >= 2 ? rows : undefined;
    }, { message: 'two malformed dead letters' });
    expect(dead).toHaveLength(2);
    const byEntry = new Map(dead.map((row) => [String(JSON.parse(row.fields)._id), row]));
    const first = byEntry.get(String(noTaskId));
    const second = byEntry.get(String(badTaskId));
    expect(first?.task_id).toBeNull();
    expect(JSON.parse(first?.fields ?? '{}')).toMatchObject({ foo: 'bar', slot, _stream: p3 });
    expect(first?.error).toMatch(/task_id/);
    expect(JSON.parse(second?.fields ?? '{}')).toMatchObject({ task_id: 'abc', slot, source: 'periodic', _stream: p3 });

    // Acknowledged, not left pending for ever.
    await waitFor(async () => (await pendingCount(fx.redis, fx.stream)) === 0, { message: 'no pending entries' });

    // The consumer goes on: a task created afterwards runs.
    const created = await postTask(url, { name: 'after malformed', type: 'count', schedule: { every: 3600 } });
    expect(created.queued_via).toBe('stream');
    const runs = await settledRuns(fx, created.id, 1);
    expect(runs.map((r) => r.status)).toEqual(['succeeded']);
  });

  it('dead-letters an entry deleted from the stream while it was pending, once it is reclaimed', async () => {
    // A consumer that died holding an entry, and the entry deleted under it (XDEL, or an operator's trim). One
    // script, so that the app's own blocked read cannot take the entry first.
    const entryId = String(
      await fx.redis.eval(
        `local id = redis.call('XADD', KEYS[1], '*', 'task_id', '123456789', 'slot', ARGV[1])
         redis.call('XREADGROUP', 'GROUP', 'scheduler_group', 'ghost', 'COUNT', 1, 'STREAMS', KEYS[1], '>')
         redis.call('XDEL', KEYS[1], id)
         return id`,
        1,
        p3,
        new Date().toISOString(),
      ),
    );
    const ghost = (await fx.redis.xpending(p3, 'scheduler_group', '-', '+', 10, 'ghost')) as [string, ...unknown[]][];
    expect(ghost.map(([id]) => id)).toEqual([entryId]);

    // After APP_PENDING_IDLE (1 s here) the app's consumer reclaims it with XAUTOCLAIM, which reports it deleted.
    const dead = await waitFor(async () => {
      const rows = await deadLettersOf(fx, { reason: 'deleted_while_pending' });
      return rows.find((row) => JSON.parse(row.fields).id === entryId);
    }, { message: 'a deleted_while_pending dead letter', timeoutMs: 15_000 });
    expect(JSON.parse(dead.fields)).toEqual({ stream: p3, id: entryId });
    expect(dead.task_id).toBeNull();
    await waitFor(async () => (await pendingCount(fx.redis, fx.stream)) === 0, { message: 'no pending entries' });
  });

  it('dead-letters an entry naming a task that does not exist', async () => {
    const missingId = 987_654_321;
    const slot = new Date().toISOString();
    const entryId = await fx.redis.xadd(
      p3,
      '*',
      'task_id',
      String(missingId),
      'slot',
      slot,
      'source',
      'periodic',
      'enqueued_at',
      slot,
    );

    const dead = await waitFor(async () => {
      const rows = await deadLettersOf(fx, { reason: 'unknown_task' });
      return rows.length > 0 ? rows : undefined;
    }, { message: 'an unknown_task dead letter' });
    expect(dead).toHaveLength(1);
    expect(Number(dead[0]?.task_id)).toBe(missingId);
    expect(ms(dead[0]?.slot ?? null)).toBe(Date.parse(slot));
    expect(JSON.parse(dead[0]?.fields ?? '{}')).toMatchObject({ task_id: String(missingId), slot, source: 'periodic' });
    expect(entryId).toBeTruthy();
    await waitFor(async () => (await pendingCount(fx.redis, fx.stream)) === 0, { message: 'no pending entries' });

    const created = await postTask(url, { name: 'after unknown', type: 'count', schedule: { every: 3600 } });
    expect((await settledRuns(fx, created.id, 1)).map((r) => r.status)).toEqual(['succeeded']);
  });
});
