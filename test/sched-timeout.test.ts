import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetterRow } from '../internal/store/index.js';
import {
  type SchedFixture,
  SCHED_MODES,
  createSchedFixture,
  getJson,
  ms,
  postTask,
  runsOfTask,
} from './support/sched-fixture.js';
import { waitFor } from './support/services.js';

/**
 * Timeouts: a handler that never returns (and ignores its abort signal) is cut off at the task's timeout, the
 * attempt is recorded as timed_out with a duration close to the timeout, and the process goes on serving other
 * tasks, during the hang and after it.
 */

describe.each(SCHED_MODES)('timeouts (%s mode)', (mode) => {
  let fx: SchedFixture;
  let url: string;

  beforeAll(async () => {
    fx = await createSchedFixture(`timeout_${mode}`);
    ({ url } = await fx.startApp(mode, { env: { APP_WORKER_POOL_SIZE: '4' } }));
  });

  afterAll(async () => {
    await fx?.cleanup();
  });

  it('records a hanging attempt as timed_out at its timeout and keeps serving other tasks', async () => {
    const hang = await postTask(url, {
      name: 'hangs',
      type: 'hang',
      schedule: { every: 3600 },
      timeout_ms: 300,
      max_attempts: 1,
    });
    // While the hang is running, other work runs beside it.
    await waitFor(async () => (await runsOfTask(fx.store, hang.id)).some((r) => r.status === 'running'), {
      message: 'the hang to start',
    });
    const during = await postTask(url, { name: 'beside the hang', type: 'count', schedule: { every: 3600 } });
    const duringRuns = await waitFor(async () => {
      const runs = await runsOfTask(fx.store, during.id);
      return runs[0]?.status === 'succeeded' ? runs : undefined;
    });

    const [run, ...others] = await waitFor(async () => {
      const runs = await runsOfTask(fx.store, hang.id);
      return runs.length > 0 && runs.every((r) => r.status !== 'running') ? runs : undefined;
    }, { message: 'the hang to end' });
    expect(others).toEqual([]);
    expect(run?.status).toBe('timed_out');
    expect(run?.error).toMatch(/timed out after 300 ms/);
    expect(run?.duration_ms).toBeGreaterThanOrEqual(300);
    expect(run?.duration_ms).toBeLessThan(2000);
    const wall = ms(run?.finished_at ?? null) - ms(run?.started_at ?? null);
    expect(wall).toBeGreaterThanOrEqual(300);
    expect(wall).toBeLessThan(2000);
    // The count task did not wait for the hang to end.
    expect(ms(duringRuns[0]?.finished_at ?? null)).toBeLessThan(ms(run?.finished_at ?? null));

    // With one attempt allowed, the timed-out slot is over: a dead letter, and the task's last status is failed.
    const task = await getJson<{ last_status: string }>(`${url}/tasks/${hang.id}`);
    expect(task.body.last_status).toBe('failed');
    const dead = await fx.store.db.selectFrom('dead_letters').selectAll().where('task_id', '=', hang.id).execute();
    expect(dead.map((d: DeadLetterRow) => d.reason)).toEqual(['attempts_exhausted']);

    // And after it: the process still runs new work.
    const after = await postTask(url, { name: 'after the hang', type: 'count', schedule: { every: 3600 } });
    const afterRuns = await waitFor(async () => {
      const runs = await runsOfTask(fx.store, after.id);
      return runs[0]?.status === 'succeeded' ? runs : undefined;
    });
    expect(afterRuns).toHaveLength(1);
    const health = await getJson<{ status: string }>(`${url}/healthz`);
    expect(health.status).toBe(200);
  });
});
