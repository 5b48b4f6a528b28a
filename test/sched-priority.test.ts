import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type SchedFixture,
  SCHED_MODES,
  countRuns,
  createSchedFixture,
  insertTasks,
  ms,
  postTask,
  runsOfTask,
} from './support/sched-fixture.js';
import { waitFor } from './support/services.js';

/**
 * Priority: with one worker and a backlog of priority-1 work, priority-5 tasks created later start before the rest
 * of the backlog, in both modes. Two set-ups: the default buffer (claimed work waits in the pool's priority
 * buffer) and no buffer (APP_QUEUE_CAPACITY=0, so the order comes from the priority read of the streams or the
 * ORDER BY of the poller).
 */

const BACKLOG = 30;
const URGENT = 5;
const SLEEP_MS = 30;

const setups = SCHED_MODES.flatMap((mode) => [
  { mode, capacity: 'default' as const },
  { mode, capacity: '0' as const },
]);

describe.each(setups)('priority ($mode mode, queue capacity $capacity)', ({ mode, capacity }) => {
  let fx: SchedFixture;
  let url: string;

  beforeAll(async () => {
    fx = await createSchedFixture(`priority_${mode}_${capacity}`);
    ({ url } = await fx.startApp(mode, {
      env: { APP_WORKER_POOL_SIZE: '1', ...(capacity === '0' ? { APP_QUEUE_CAPACITY: '0' } : {}) },
    }));
  });

  afterAll(async () => {
    await fx?.cleanup();
  });

  it('starts priority-5 tasks before the priority-1 backlog that was waiting when they were created', async () => {
    // The backlog is due all at once: rows inserted in one statement, found by the publisher or the poller.
    const backlog = await insertTasks(fx.store, {
      count: BACKLOG,
      namePrefix: `backlog-${mode}-${capacity}`,
      type: 'sleep',
      payload: { ms: SLEEP_MS },
      every: 3600,
      priority: 1,
    });
    expect(backlog).toHaveLength(BACKLOG);
    await waitFor(async () => (await countRuns(fx.store, { taskIds: backlog })) >= 2, { message: 'the backlog to start' });

    const urgent: number[] = [];
    for (let i = 0; i < URGENT; i += 1) {
      const created = await postTask(url, {
        name: `urgent ${i}`,
        type: 'sleep',
        payload: { ms: SLEEP_MS },
        schedule: { every: 3600 },
        priority: 5,
      });
      urgent.push(created.id);
    }
    // How much of the backlog had not started once every urgent task existed.
    const waiting = BACKLOG - (await countRuns(fx.store, { taskIds: backlog }));
    expect(waiting, 'the backlog must still be long enough to prove anything').toBeGreaterThanOrEqual(15);

    await waitFor(async () => (await countRuns(fx.store, { status: 'succeeded' })) === BACKLOG + URGENT, {
      timeoutMs: 20_000,
      message: 'every task to run',
    });

    const starts = async (ids: number[]) =>
      (await Promise.all(ids.map((id) => runsOfTask(fx.store, id)))).map((runs) => {
        expect(runs).toHaveLength(1);
        return ms(runs[0]?.started_at ?? null);
      });
    const urgentStarts = await starts(urgent);
    const backlogStarts = await starts(backlog);
    const lastUrgent = Math.max(...urgentStarts);
    const overtaken = backlogStarts.filter((t) => t > lastUrgent).length;
    // With one worker, a priority-5 task waits at most for the run in progress and for one more that was taken
    // while it was being published or claimed; the rest of the waiting backlog starts after all of them.
    expect(overtaken).toBeGreaterThanOrEqual(waiting - 2);
    expect(overtaken).toBeGreaterThan(0);
  });
});
