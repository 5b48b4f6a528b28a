import { describe, expect, it } from 'vitest';
import { ManualClock } from '../platform/clock.js';
import { deadLetterList } from '../store/index.js';
import type { Job } from './job.js';
import { StreamSource } from './stream-source.js';
import { FakeBroker, FakeHealth, insertTask, quiet, useMemoryStore, redisDown } from './test-support.js';
import { WorkerPool } from './worker-pool.js';

describe('StreamSource', () => {
  const clock = new ManualClock();

  const db = useMemoryStore();

  /** A source over a fake broker, feeding a pool whose runs the test ends by recording them. */
  function source(options: { room?: number; pendingIdleMs?: number } = {}) {
    const broker = new FakeBroker(() => clock.now());
    const health = new FakeHealth();
    const started: Job[] = [];
    const pool = new WorkerPool(
      {
        runner: {
          execute: async (job) => {
            started.push(job);
            await job.onRecorded?.();
          },
        },
        releaseClaims: async () => undefined,
        ...quiet,
      },
      { size: options.room ?? 10, capacity: 0, shutdownTimeoutMs: 10 },
    );
    const src = new StreamSource(
      { store: db.store, pool, broker, health, clock, ...quiet },
      { workerId: 'me:1', leaseMs: 10_000, batchSize: 100, typePatterns: null, pendingIdleMs: options.pendingIdleMs ?? 30_000, blockMs: 10 },
    );
    return { broker, health, started, src };
  }

  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('claims the slot of each entry, runs it once, and acknowledges the entry and its duplicates', async () => {
    const task = await insertTask(db.store, new Date(clock.now()));
    const { broker, started, src } = source();
    const fields = { task_id: String(task.id), slot: task.nextRunAt.toISOString(), source: 'api' };
    const ids = [broker.add(3, fields), broker.add(3, fields), broker.add(3, { ...fields, source: 'periodic' })];

    expect(await src.runOnce()).toBe(3);
    await settle();
    expect(started.map((j) => [j.claim.task.id, j.claim.source])).toEqual([[task.id, 'api']]);
    expect(broker.ackedIds().sort()).toEqual(ids.sort());
    expect(broker.pending()).toEqual([]);
  });

  it('reads no more than the pool has room for', async () => {
    const { broker, src } = source({ room: 2 });
    for (let i = 0; i < 5; i += 1) broker.add(3, { task_id: String(9000 + i) });
    expect(await src.runOnce()).toBe(2);
  });

  it('turns a malformed entry and an entry of an unknown task into dead letters, and acknowledges both', async () => {
    const { broker, src } = source();
    const bad = broker.add(2, { task_id: 'nope' });
    const unknown = broker.add(2, { task_id: '424242', slot: new Date(clock.now()).toISOString() });
    await src.runOnce();
    expect(broker.ackedIds()).toEqual(expect.arrayContaining([bad, unknown]));
    const letters = (await deadLetterList(db.store, { limit: 10 })).items;
    expect(letters.find((l) => l.reason === 'malformed')?.fields).toMatchObject({ task_id: 'nope', _id: bad });
    expect(letters.find((l) => l.reason === 'unknown_task')).toMatchObject({ taskId: 424242 });
  });

  it('reclaims entries another consumer left pending past the idle time', async () => {
    clock.advance(60_000);
    const task = await insertTask(db.store, new Date(clock.now()));
    const { broker, started, src } = source({ pendingIdleMs: 5000 });
    broker.add(3, { task_id: String(task.id) });
    // Another consumer read it and died.
    await broker.read(1);
    expect(await src.reclaimStalled()).toBe(0);
    clock.advance(5000);
    expect(await src.reclaimStalled()).toBe(1);
    await settle();
    expect(started.map((j) => j.claim.task.id)).toEqual([task.id]);
    expect(broker.pending()).toEqual([]);
  });

  it('reports a failing Redis to the queue health from its loop, and recovers when it answers again', async () => {
    const { broker, health, src } = source();
    broker.failing = redisDown();
    await src.start();
    await waitUntil(() => health.reports.includes('reader:failed'));
    broker.failing = undefined;
    await waitUntil(() => health.reports.at(-1) === 'reader:ok');
    await src.stop();
  });
});

async function waitUntil(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
