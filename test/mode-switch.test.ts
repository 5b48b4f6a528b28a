import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TaskRunRow } from '../internal/store/index.js';
import { type VigilChild, childEnv, deleteStreams, killAll, runLines, spawnVigil, waitReady } from './support/children.js';
import { REDIS_ADDR, type TestStore, createTestStore, uniqueName, waitFor } from './support/services.js';

/**
 * G2 and G3 when the mode changes across a restart (APP_ENABLE_REDIS_QUEUE flips):
 * - tasks published to the stream while no scheduler runs are run by a polling scheduler, which never reads the
 *   stream: the row, not the entry, is the source of truth;
 * - tasks created with streams off (never published) are run once streams are on, by the periodic publisher;
 * - the stale entries of the first part, read at last by the stream-mode scheduler, run nothing twice.
 */

const GROUP = 'scheduler_group';
const TASKS = 20;

describe('mode change across a restart', () => {
  let db: TestStore;
  let redis: Redis;
  const stream = uniqueName('vigil_mode');
  const streamKey = `{${stream}}:p3`;
  const children: VigilChild[] = [];
  let publishedIds: number[] = [];

  beforeAll(async () => {
    db = await createTestStore('mysql', 'mode_switch');
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

  function spawn(role: 'api' | 'scheduler', extra: Record<string, string>): VigilChild {
    const child = spawnVigil(role, childEnv(db.env, stream, extra));
    children.push(child);
    return child;
  }

  /** Starts an API without a scheduler, creates TASKS `count` tasks over HTTP, stops it; returns ids and queued_via. */
  async function createThroughApi(extra: Record<string, string>): Promise<{ ids: number[]; queuedVia: string[] }> {
    const api = spawn('api', { APP_RUN_SCHEDULER: 'false', ...extra });
    const port = await waitReady(api);
    const ids: number[] = [];
    const queuedVia: string[] = [];
    for (let i = 0; i < TASKS; i += 1) {
      const res = await fetch(`http://127.0.0.1:${port}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: `mode ${i}`, type: 'count', payload: {}, schedule: { every: 3600 } }),
      });
      expect(res.status).toBe(201);
      const body = (await res.json()) as { id: number; queued_via: string };
      ids.push(body.id);
      queuedVia.push(body.queued_via);
    }
    api.kill('SIGTERM');
    expect(await api.exited).toBe(0);
    return { ids, queuedVia };
  }

  async function runsOf(ids: number[]): Promise<TaskRunRow[]> {
    return db.store.db.selectFrom('task_runs').selectAll().where('task_id', 'in', ids).orderBy('id').execute();
  }

  async function waitAllSucceeded(ids: number[], message: string): Promise<void> {
    await waitFor(async () => {
      const done = await db.store.db
        .selectFrom('tasks')
        .select('id')
        .where('id', 'in', ids)
        .where('last_status', '=', 'succeeded')
        .execute();
      return done.length === ids.length;
    }, { timeoutMs: 20_000, intervalMs: 100, message });
  }

  /** Each task ran its one slot exactly once: one run row, one handler call. */
  function expectExactlyOnce(ids: number[], runs: TaskRunRow[], calls: ReturnType<typeof runLines>): void {
    expect(runs).toHaveLength(ids.length);
    expect(new Set(runs.map((r) => Number(r.task_id)))).toEqual(new Set(ids));
    expect(runs.every((r) => r.status === 'succeeded' && r.attempt === 1)).toBe(true);
    const mine = calls.filter((c) => ids.includes(c.taskId));
    expect(mine).toHaveLength(ids.length);
    expect(new Set(mine.map((c) => c.taskId)).size).toBe(ids.length);
  }

  it('stream → polling: tasks published while no scheduler ran are run by polling, once each', async () => {
    const { ids, queuedVia } = await createThroughApi({});
    publishedIds = ids;
    expect(queuedVia).toEqual(Array(TASKS).fill('stream'));
    // Published, and nobody has run them.
    expect(await redis.xlen(streamKey)).toBe(TASKS);
    expect(await runsOf(ids)).toHaveLength(0);

    const scheduler = spawn('scheduler', { APP_ENABLE_REDIS_QUEUE: 'false' });
    await waitReady(scheduler);
    await scheduler.waitForLine(/"mode":"db_polling".*scheduler started/, 10_000);
    await waitAllSucceeded(ids, 'the published tasks to run in polling mode');
    scheduler.kill('SIGTERM');
    expect(await scheduler.exited).toBe(0);

    const runs = await runsOf(ids);
    expectExactlyOnce(ids, runs, runLines([scheduler]));
    expect(runs.map((r) => r.source)).toEqual(Array(TASKS).fill('poll'));
    // Polling mode left the stream alone: the entries are still there, never read by a group.
    expect(await redis.xlen(streamKey)).toBe(TASKS);
    const groups = (await redis.xinfo('GROUPS', streamKey)) as unknown[][];
    expect(groups.filter((g) => g.includes(GROUP))).toHaveLength(0);
  }, 40_000);

  it('polling → stream: tasks created with streams off run after a restart in stream mode, once each', async () => {
    const { ids, queuedVia } = await createThroughApi({ APP_ENABLE_REDIS_QUEUE: 'false' });
    expect(queuedVia).toEqual(Array(TASKS).fill('poll'));
    // Nothing was published for them.
    expect(await redis.xlen(streamKey)).toBe(TASKS);

    const scheduler = spawn('scheduler', {});
    await waitReady(scheduler);
    await scheduler.waitForLine(/"mode":"redis_streams".*scheduler started/, 10_000);
    await waitAllSucceeded(ids, 'the unpublished tasks to run in stream mode');
    // The group has read and acknowledged everything, the stale entries of the first test included.
    await waitFor(async () => {
      const info = (await redis.xinfo('GROUPS', streamKey)) as unknown[][];
      const group = info.find((g) => g.includes(GROUP));
      if (group === undefined) return false;
      const fields: Record<string, unknown> = {};
      for (let i = 0; i + 1 < group.length; i += 2) fields[String(group[i])] = group[i + 1];
      return Number(fields.pending) === 0 && Number(fields.lag) === 0;
    }, { timeoutMs: 10_000, message: 'the group to read and acknowledge every entry' });
    scheduler.kill('SIGTERM');
    expect(await scheduler.exited).toBe(0);

    const runs = await runsOf(ids);
    const calls = runLines(children);
    expectExactlyOnce(ids, runs, calls);
    // Published by the periodic publisher and consumed from the stream, not polled.
    expect(runs.map((r) => r.source), scheduler.lines.filter((l) => l.includes('mode')).join('\n')).toEqual(Array(TASKS).fill('periodic'));
    // The first test's entries, read only now, ran nothing a second time.
    expectExactlyOnce(publishedIds, await runsOf(publishedIds), calls);
  }, 40_000);
});
