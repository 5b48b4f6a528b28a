import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type VigilChild,
  childEnv,
  deleteStreams,
  insertDueTasks,
  killAll,
  runLines,
  spawnVigil,
  waitForOutcomes,
  waitReady,
} from './support/children.js';
import { REDIS_ADDR, type TestStore, createTestStore, uniqueName, waitFor } from './support/services.js';

/**
 * G3 across processes: three scheduler processes share one stream, one consumer group and one database. Each
 * publishes what comes due (three publishers racing for the same rows), the test publishes every task once more
 * (a second publish path, so duplicate entries are the rule), and all three consume; every slot still runs
 * exactly once, and the work is spread over all three.
 */

const TASKS = 600;
const GROUP = 'scheduler_group';

describe('three schedulers on one stream', () => {
  let db: TestStore;
  let redis: Redis;
  const stream = uniqueName('vigil_scale');
  const children: VigilChild[] = [];

  beforeAll(async () => {
    db = await createTestStore('mysql', 'scale_out');
    const [host, port] = REDIS_ADDR.split(':');
    redis = new Redis({ host, port: Number(port) });
  });

  afterAll(async () => {
    await killAll(children);
    redis?.disconnect();
    await deleteStreams(stream);
    await db?.cleanup();
  });

  /** Entries delivered and not acknowledged, and entries not yet delivered, over the five streams. */
  async function backlog(): Promise<{ pending: number; lag: number }> {
    let pending = 0;
    let lag = 0;
    for (let p = 1; p <= 5; p += 1) {
      const key = `{${stream}}:p${p}`;
      if ((await redis.exists(key)) === 0) continue;
      const groups = (await redis.xinfo('GROUPS', key)) as unknown[][];
      for (const group of groups) {
        const info: Record<string, unknown> = {};
        for (let i = 0; i + 1 < group.length; i += 2) info[String(group[i])] = group[i + 1];
        if (info.name !== GROUP) continue;
        pending += Number(info.pending);
        lag += Number(info.lag ?? 0);
      }
    }
    return { pending, lag };
  }

  it('runs each slot exactly once, and every process does a share', async () => {
    // Small pools and batches so that no one process can swallow the whole backlog in one read.
    const env = childEnv(db.env, stream, { APP_WORKER_POOL_SIZE: '10', APP_QUEUE_CAPACITY: '10', APP_QUEUE_BATCH_SIZE: '20' });
    for (let i = 0; i < 3; i += 1) children.push(spawnVigil('scheduler', env));
    await Promise.all(children.map((c) => waitReady(c)));
    await Promise.all(children.map((c) => c.waitForLine(/"mode":"redis_streams".*scheduler started/, 10_000)));

    const { ids, slot } = await insertDueTasks(
      db.store,
      Array.from({ length: TASKS }, () => ({ type: 'count' })),
    );
    // A second publish path racing the three publishers, as the API's own publish would: every slot gets at least
    // two entries, so consumers see duplicates all the time.
    const pipeline = redis.pipeline();
    for (const id of ids) {
      pipeline.xadd(`{${stream}}:p3`, '*', 'task_id', String(id), 'slot', slot.toISOString(), 'source', 'api', 'enqueued_at', new Date().toISOString());
    }
    await pipeline.exec();
    await waitForOutcomes(db.store, ids, {
      timeoutMs: 45_000,
      succeeded: true,
      what: `all ${TASKS} slots to succeed`,
    });
    // Every entry, duplicates included, has been read and acknowledged: nothing can still run late.
    await waitFor(async () => {
      const b = await backlog();
      return b.pending === 0 && b.lag === 0;
    }, { timeoutMs: 15_000, message: 'the stream backlog to drain' });

    for (const child of children) child.kill('SIGTERM');
    expect(await Promise.all(children.map((c) => c.exited))).toEqual([0, 0, 0]);

    // Handler calls across all three processes: each (task, slot) once.
    const calls = runLines(children).filter((r) => ids.includes(r.taskId));
    const keys = calls.map((c) => `${c.taskId}/${c.slot}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(calls).toHaveLength(TASKS);
    expect(calls.every((c) => c.slot === slot.toISOString() && c.attempt === 1)).toBe(true);

    // The database agrees: 600 attempts, of 600 tasks, all succeeded.
    const runs = await db.store.db.selectFrom('task_runs').selectAll().where('task_id', 'in', ids).execute();
    expect(runs).toHaveLength(TASKS);
    expect(new Set(runs.map((r) => Number(r.task_id))).size).toBe(TASKS);
    expect(runs.every((r) => r.status === 'succeeded' && r.attempt === 1)).toBe(true);
    expect(runs.every((r) => r.source === 'periodic' || r.source === 'api')).toBe(true);

    // Each process did a share.
    const split = children.map((c) => runLines([c]).length);
    const workers = new Set(runs.map((r) => r.worker));
    console.log(
      `[scale-out] ${TASKS} slots split across processes: ${split.join(' / ')} (${workers.size} workers in task_runs; ` +
        `${runs.filter((r) => r.source === 'api').length} via the second publish path)`,
    );
    for (const share of split) expect(share).toBeGreaterThan(0);
    expect(workers.size).toBe(3);
  }, 80_000);
});
