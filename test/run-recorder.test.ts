import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../internal/platform/clock.js';
import { RunRecorder } from '../internal/scheduler/run-recorder.js';
import { type Store, StoreError, runListByTask, slotClaimDue, taskGetById } from '../internal/store/index.js';
import { insertTask } from '../internal/scheduler/test-support.js';
import { type TestStore, createTestStore } from './support/services.js';

/**
 * The run recorder writes the starts and outcomes of concurrent runs together. These tests show that it does, and
 * that one item the database refuses fails alone: the rest of its batch is still recorded.
 */
describe('run recorder (mysql)', () => {
  let testStore: TestStore;
  let store: Store;

  beforeAll(async () => {
    testStore = await createTestStore('mysql', 'run_recorder');
    store = testStore.store;
  });

  afterAll(async () => {
    await testStore?.cleanup();
  });

  async function claimTwo(type: string) {
    const now = new Date();
    for (const name of ['a', 'b']) {
      await insertTask(store, now, { name, type });
    }
    const claims = await slotClaimDue(store, {
      workerId: 'host:1:recorder',
      leaseToken: `token-${type}`,
      leaseMs: 60_000,
      now: new Date(),
      typePatterns: [type],
      limit: 10,
      channel: 'poll',
    });
    expect(claims).toHaveLength(2);
    return claims as [(typeof claims)[0], (typeof claims)[0]];
  }

  const succeeded = (startedAt: Date) => ({ status: 'succeeded' as const, output: null, error: null, startedAt, durationMs: 1 });

  it('starts concurrent runs in one statement', async () => {
    const recorder = new RunRecorder({ store, clock: systemClock }, { workerId: 'host:1:recorder', retry: { baseMs: 10, maxMs: 10 } });
    const [a, b] = await claimTwo('recorder_start');
    const [startA, startB] = await Promise.all([recorder.start(a), recorder.start(b)]);
    expect(startA?.runId).toBeGreaterThan(0);
    expect(startB?.runId).toBeGreaterThan(0);
    // Written by one INSERT: the same start time, and that is what the run rows say.
    expect(startA?.startedAt).toEqual(startB?.startedAt);
    const run = (await runListByTask(store, { taskId: a.task.id, limit: 1 })).items[0];
    expect(run?.startedAt).toEqual(startA?.startedAt);
  });

  it('records the rest of a batch when the database refuses one of its items', async () => {
    const recorder = new RunRecorder({ store, clock: systemClock }, { workerId: 'host:1:recorder', retry: { baseMs: 10, maxMs: 10 } });
    const [good, bad] = await claimTwo('recorder_refused');
    const [startGood, startBad] = await Promise.all([recorder.start(good), recorder.start(bad)]);
    if (startGood === undefined || startBad === undefined) throw new Error('runs did not start');
    // A notification URL longer than its column: MySQL in strict mode refuses the row, and the whole transaction.
    const tooLong = `http://hooks.example/${'x'.repeat(3000)}`;
    await store.db.updateTable('tasks').set({ notify: JSON.stringify({ webhook_url: tooLong, on: ['down'] }) }).where('id', '=', bad.task.id).execute();
    const [okResult, badResult] = await Promise.allSettled([
      recorder.complete({ claim: good, runId: startGood.runId, result: succeeded(startGood.startedAt) }),
      recorder.complete({
        claim: bad,
        runId: startBad.runId,
        result: succeeded(startBad.startedAt),
        effects: { up: false, events: ['down'] },
      }),
    ]);
    expect(okResult).toMatchObject({ status: 'fulfilled', value: { kind: 'succeeded' } });
    expect(badResult.status).toBe('rejected');
    expect((badResult as PromiseRejectedResult).reason).toBeInstanceOf(StoreError);
    expect(await taskGetById(store, good.task.id)).toMatchObject({ lastStatus: 'succeeded', leaseToken: null });
    // The refused one recorded nothing: its lease stands, and recovery will deal with it.
    expect(await taskGetById(store, bad.task.id)).toMatchObject({ lastStatus: null, leaseToken: bad.leaseToken });
  });
});
