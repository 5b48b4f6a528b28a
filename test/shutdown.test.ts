import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TaskRunRow } from '../internal/store/index.js';
import {
  type VigilChild,
  childEnv,
  deleteStreams,
  insertDueTasks,
  killAll,
  runLines,
  spawnVigil,
  waitReady,
} from './support/children.js';
import { REDIS_ADDR, type TestStore, createTestStore, uniqueName, waitFor } from './support/services.js';

/**
 * G7 with a real process and a real SIGTERM, in stream mode. The pool is kept full (running and buffered), so
 * the signal arrives while handlers run and claims wait in the buffer:
 * - runs in flight finish, are recorded succeeded and their entries acknowledged; nothing new starts;
 * - buffered claims are given back unstarted (no lease, no attempt used) and run later by another process;
 * - past APP_SHUTDOWN_TIMEOUT, unfinished runs are left for recovery, never marked succeeded, and the process
 *   still exits 0 promptly.
 */

const GROUP = 'scheduler_group';
const POOL = 4;

interface StoppedLog {
  released: number;
  abandoned: number;
}

describe('graceful shutdown (SIGTERM)', () => {
  let db: TestStore;
  let redis: Redis;
  const stream = uniqueName('vigil_shutdown');
  const children: VigilChild[] = [];

  beforeAll(async () => {
    db = await createTestStore('mysql', 'shutdown');
    const [host, port] = REDIS_ADDR.split(':');
    redis = new Redis({ host, port: Number(port) });
  });

  // A test that failed half-way must not leave a process behind to run the next test's tasks.
  beforeEach(() => killAll(children));

  afterAll(async () => {
    await killAll(children);
    redis?.disconnect();
    await deleteStreams(stream);
    await db?.cleanup();
  });

  function spawnScheduler(extra: Record<string, string> = {}): VigilChild {
    const child = spawnVigil(
      'scheduler',
      childEnv(db.env, stream, { APP_WORKER_POOL_SIZE: String(POOL), APP_QUEUE_CAPACITY: String(POOL), APP_QUEUE_BATCH_SIZE: '8', ...extra }),
    );
    children.push(child);
    return child;
  }

  async function runsOf(ids: number[]): Promise<TaskRunRow[]> {
    return db.store.db.selectFrom('task_runs').selectAll().where('task_id', 'in', ids).orderBy('id').execute();
  }

  /** Task ids of the entries pending in the group (optionally for one consumer), over the five streams. */
  async function pendingTaskIds(consumer?: string): Promise<number[]> {
    const out: number[] = [];
    for (let p = 1; p <= 5; p += 1) {
      const key = `{${stream}}:p${p}`;
      if ((await redis.exists(key)) === 0) continue;
      const groups = (await redis.xinfo('GROUPS', key)) as unknown[][];
      if (!groups.some((g) => g.includes(GROUP))) continue;
      const pending = (consumer === undefined
        ? await redis.xpending(key, GROUP, '-', '+', 10_000)
        : await redis.xpending(key, GROUP, '-', '+', 10_000, consumer)) as [string, string, number, number][];
      for (const [id] of pending) {
        const entries = await redis.xrange(key, id, id);
        const fields = entries[0]?.[1] ?? [];
        out.push(Number(fields[fields.indexOf('task_id') + 1]));
      }
    }
    return out;
  }

  function stoppedLog(child: VigilChild): StoppedLog {
    const line = child.lines.find((l) => l.includes('"msg":"scheduler stopped"'));
    expect(line, 'the "scheduler stopped" log line').toBeDefined();
    return JSON.parse(line as string) as StoppedLog;
  }

  it('finishes and acknowledges the runs in flight, gives back buffered claims, exits 0', async () => {
    // Twelve 2 s runs for a pool of four with a buffer of four: four run, four wait in the buffer, four stay in
    // the stream. 2 s leaves ample time to signal before any run ends.
    const { ids, slot } = await insertDueTasks(
      db.store,
      Array.from({ length: 12 }, () => ({ type: 'sleep', payload: { ms: 2000 } })),
    );
    const first = spawnScheduler();
    await waitReady(first);
    await waitFor(() => runLines([first]).length >= POOL, { timeoutMs: 20_000, message: 'a full pool' });
    // The buffer has filled too (claims are leased before they are offered to the pool).
    await waitFor(async () => {
      const leased = await db.store.db
        .selectFrom('tasks')
        .select('id')
        .where('id', 'in', ids)
        .where('lease_token', 'is not', null)
        .execute();
      return leased.length === 2 * POOL;
    }, { message: 'the buffer to fill' });
    const startedBeforeSignal = new Set(runLines([first]).map((r) => r.taskId));
    expect(startedBeforeSignal.size).toBe(POOL);

    first.kill('SIGTERM');
    const signalledAt = Date.now();
    expect(await first.exited).toBe(0);
    // The runs needed about 2 s; the shutdown timeout is 10 s.
    expect(Date.now() - signalledAt).toBeLessThan(10_000);

    // It stopped taking work: no handler started after the signal, buffered claims included.
    expect(new Set(runLines([first]).map((r) => r.taskId))).toEqual(startedBeforeSignal);
    const log = stoppedLog(first);
    expect(log).toMatchObject({ released: POOL, abandoned: 0 });

    // The runs in flight finished and were recorded succeeded; nothing is left running.
    const runs = await runsOf(ids);
    expect(runs.filter((r) => r.status === 'running')).toHaveLength(0);
    expect(runs).toHaveLength(POOL);
    for (const run of runs) {
      expect(startedBeforeSignal.has(Number(run.task_id))).toBe(true);
      expect(run.status).toBe('succeeded');
    }
    const worker = runs[0]?.worker as string;

    // Their entries were acknowledged. What the stopped consumer still holds pending are only the entries of the
    // claims it gave back: they are redelivered (XAUTOCLAIM) to the next consumer, which finds them due again.
    const pendingForFirst = await pendingTaskIds(worker);
    expect(pendingForFirst.filter((id) => startedBeforeSignal.has(id))).toEqual([]);
    expect(pendingForFirst).toHaveLength(log.released);

    // Buffered claims were given back: no task is leased, and the given-back ones used no attempt.
    const tasks = await db.store.db.selectFrom('tasks').selectAll().where('id', 'in', ids).execute();
    for (const task of tasks) {
      expect(task.lease_token, `task ${task.id}`).toBeNull();
      if (!startedBeforeSignal.has(Number(task.id))) {
        expect(task.attempts).toBe(0);
        expect(task.last_status).toBeNull();
      }
    }

    // A new process runs the rest, each slot once, as a first attempt.
    const second = spawnScheduler();
    await waitFor(async () => {
      const done = await db.store.db
        .selectFrom('tasks')
        .select('id')
        .where('id', 'in', ids)
        .where('last_status', '=', 'succeeded')
        .execute();
      return done.length === ids.length;
    }, { timeoutMs: 30_000, intervalMs: 100, message: 'every task to succeed' });
    await waitFor(async () => (await pendingTaskIds()).length === 0, { timeoutMs: 10_000, message: 'no pending entries' });
    second.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const allRuns = await runsOf(ids);
    expect(allRuns).toHaveLength(ids.length);
    expect(new Set(allRuns.map((r) => Number(r.task_id))).size).toBe(ids.length);
    for (const run of allRuns) {
      expect(run.status).toBe('succeeded');
      expect(run.attempt).toBe(1);
      expect(new Date(run.slot).toISOString()).toBe(slot.toISOString());
      expect(run.worker === worker).toBe(startedBeforeSignal.has(Number(run.task_id)));
    }
    const calls = runLines([first, second]).filter((r) => ids.includes(r.taskId));
    expect(calls).toHaveLength(ids.length);
  }, 60_000);

  it('past APP_SHUTDOWN_TIMEOUT leaves unfinished runs for recovery and still exits 0', async () => {
    const shutdownTimeoutMs = 500;
    // Runs of 10 s against a 500 ms shutdown timeout; the timeout of each task (60 s) is far away, so only the
    // shutdown can cut them short. The re-run after recovery sleeps its 10 s again and succeeds.
    const { ids } = await insertDueTasks(
      db.store,
      Array.from({ length: 2 * POOL }, () => ({ type: 'sleep', payload: { ms: 10_000 }, timeoutMs: 60_000 })),
    );
    const first = spawnScheduler({ APP_SHUTDOWN_TIMEOUT: `${shutdownTimeoutMs}ms` });
    await waitReady(first);
    await waitFor(() => runLines([first]).length >= POOL, { timeoutMs: 20_000, message: 'a full pool' });
    await waitFor(async () => {
      const leased = await db.store.db
        .selectFrom('tasks')
        .select('id')
        .where('id', 'in', ids)
        .where('lease_token', 'is not', null)
        .execute();
      return leased.length === 2 * POOL;
    }, { message: 'the buffer to fill' });
    const cutShort = new Set(runLines([first]).map((r) => r.taskId));

    first.kill('SIGTERM');
    const signalledAt = Date.now();
    expect(await first.exited).toBe(0);
    const stopMs = Date.now() - signalledAt;
    expect(stopMs).toBeLessThan(shutdownTimeoutMs + 4000);
    expect(stoppedLog(first)).toMatchObject({ released: POOL, abandoned: POOL });

    // Nothing cut short was marked succeeded (or given an outcome at all): the attempts are still open, their
    // slots still leased until the lease runs out, and recovery will own them.
    const runs = await runsOf(ids);
    expect(runs).toHaveLength(POOL);
    for (const run of runs) {
      expect(cutShort.has(Number(run.task_id))).toBe(true);
      expect(run.status).toBe('running');
    }
    const tasks = await db.store.db.selectFrom('tasks').selectAll().where('id', 'in', ids).execute();
    for (const task of tasks) {
      expect(task.last_status).toBeNull();
      expect(task.lease_token === null).toBe(!cutShort.has(Number(task.id)));
    }
    // Nothing unrecorded was acknowledged: the entries of the cut-short runs are still pending.
    const pendingForFirst = new Set(await pendingTaskIds(runs[0]?.worker as string));
    for (const id of cutShort) expect(pendingForFirst.has(id), `entry of task ${id}`).toBe(true);

    // A new process recovers them: the cut-short attempt is recorded failed, and a second attempt (source
    // `recovery`) succeeds. The claims that were given back run as first attempts.
    const second = spawnScheduler({ APP_WORKER_POOL_SIZE: String(2 * POOL) });
    await waitFor(async () => {
      const done = await db.store.db
        .selectFrom('tasks')
        .select('id')
        .where('id', 'in', ids)
        .where('last_status', '=', 'succeeded')
        .execute();
      return done.length === ids.length;
    }, { timeoutMs: 30_000, intervalMs: 200, message: 'every task to succeed after recovery' });
    second.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const allRuns = await runsOf(ids);
    expect(allRuns.filter((r) => r.status === 'running')).toHaveLength(0);
    for (const id of ids) {
      const taskRuns = allRuns.filter((r) => Number(r.task_id) === id);
      if (cutShort.has(id)) {
        expect(taskRuns.map((r) => [r.attempt, r.source, r.status])).toEqual([
          [1, 'periodic', 'failed'],
          [2, 'recovery', 'succeeded'],
        ]);
        expect(taskRuns[0]?.error).toMatch(/executor|lease/);
      } else {
        expect(taskRuns.map((r) => [r.attempt, r.status])).toEqual([[1, 'succeeded']]);
      }
    }
    console.log(`[shutdown] stopped ${stopMs} ms after SIGTERM with a ${shutdownTimeoutMs} ms shutdown timeout`);
  }, 60_000);
});
