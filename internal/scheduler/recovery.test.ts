import { describe, expect, it } from 'vitest';
import { ManualClock } from '../platform/clock.js';
import { deadLetterList, runListByTask, runStartMany, slotClaimDue, taskGetById } from '../store/index.js';
import { Recovery } from './recovery.js';
import { insertTask, quiet, useMemoryStore } from './test-support.js';

describe('Recovery', () => {
  const clock = new ManualClock();
  const T0 = new Date(clock.now());

  const db = useMemoryStore();

  /** Claims the task for a worker that then dies, with its first attempt started. */
  async function claimAndDie(type: string, started: boolean) {
    const claims = await slotClaimDue(db.store, {
      workerId: 'dead:1',
      leaseToken: `lease-${type}`,
      leaseMs: 10_000,
      now: new Date(clock.now()),
      typePatterns: [type],
      limit: 10,
      channel: 'poll',
    });
    if (started) await runStartMany(db.store, { claims, workerId: 'dead:1', now: new Date(clock.now()) });
    return claims;
  }

  it('frees an expired lease as a new attempt, and marks the attempt that was running as failed', async () => {
    const task = await insertTask(db.store, T0, { type: 'rec_started', maxAttempts: 3 });
    await claimAndDie('rec_started', true);
    const recovery = new Recovery({ store: db.store, clock, ...quiet }, { intervalMs: 1000 });

    expect(await recovery.runOnce()).toBe(0);
    clock.advance(10_001);
    expect(await recovery.runOnce()).toBe(1);

    expect(await taskGetById(db.store, task.id)).toMatchObject({ leaseToken: null, attempts: 1, pendingSource: 'recovery', nextRunAt: T0 });
    const [run] = (await runListByTask(db.store, { taskId: task.id, limit: 10 })).items;
    expect(run).toMatchObject({ status: 'failed', error: 'executor lost: lease expired', attempt: 1 });
    expect(await recovery.runOnce()).toBe(0);
  });

  it('does not use up an attempt for a claim that never started', async () => {
    const task = await insertTask(db.store, new Date(clock.now()), { type: 'rec_unstarted', maxAttempts: 1 });
    await claimAndDie('rec_unstarted', false);
    clock.advance(10_001);
    await new Recovery({ store: db.store, clock, ...quiet }, { intervalMs: 1000 }).runOnce();
    expect(await taskGetById(db.store, task.id)).toMatchObject({ leaseToken: null, attempts: 0 });
  });

  it('ends the slot with a dead letter when its attempts are used up, and schedules the next', async () => {
    const slot = new Date(clock.now());
    const task = await insertTask(db.store, slot, { type: 'rec_last', maxAttempts: 1, schedule: { every: 60 } });
    await claimAndDie('rec_last', true);
    clock.advance(10_001);
    await new Recovery({ store: db.store, clock, ...quiet }, { intervalMs: 1000 }).runOnce();
    const after = await taskGetById(db.store, task.id);
    expect(after).toMatchObject({ leaseToken: null, attempts: 0, lastStatus: 'failed' });
    expect(after?.nextRunAt.getTime()).toBe(slot.getTime() + 60_000);
    const letters = (await deadLetterList(db.store, { limit: 10 })).items.filter((l) => l.taskId === task.id);
    expect(letters).toMatchObject([{ reason: 'attempts_exhausted', slot }]);
  });

  it('recovers in batches until none is left', async () => {
    const slot = new Date(clock.now());
    for (let i = 0; i < 5; i += 1) await insertTask(db.store, slot, { type: 'rec_batch' });
    await claimAndDie('rec_batch', true);
    clock.advance(10_001);
    expect(await new Recovery({ store: db.store, clock, ...quiet }, { intervalMs: 1000, batchSize: 2 }).runOnce()).toBe(5);
  });
});
