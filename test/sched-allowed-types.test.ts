import { afterEach, describe, expect, it } from 'vitest';
import { type SchedFixture, SCHED_MODES, createSchedFixture } from './support/sched-fixture.js';
import { waitFor } from './support/services.js';

/**
 * APP_ALLOWED_TYPES: a process runs only the types it matches; the other tasks stay queued for processes that do
 * match them, in both modes.
 */
describe.each(SCHED_MODES)('APP_ALLOWED_TYPES in %s mode', (mode) => {
  let fixture: SchedFixture | undefined;

  afterEach(async () => {
    await fixture?.cleanup();
    fixture = undefined;
  });

  it('runs each type only in a process that matches it, and leaves the rest for one that does', async () => {
    fixture = await createSchedFixture(`allowed_types_${mode}`);
    const countOnly = await fixture.startApp(mode, { env: { APP_ALLOWED_TYPES: 'cou*' } });
    const create = async (type: string, n: number) => {
      const ids: number[] = [];
      for (let i = 0; i < n; i += 1) {
        const res = await fetch(`${countOnly.url}/tasks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ name: `${type}-${i}`, type, schedule: { every: 3600 } }),
        });
        expect(res.status).toBe(201);
        ids.push(((await res.json()) as { id: number }).id);
      }
      return ids;
    };
    const counts = await create('count', 10);
    const noops = await create('noop', 10);
    const store = fixture.store;
    const runsOf = (ids: number[]) => store.db.selectFrom('task_runs').selectAll().where('task_id', 'in', ids).execute();
    const succeeded = async (ids: number[]) => (await runsOf(ids)).filter((r) => r.status === 'succeeded').length;

    await waitFor(async () => (await succeeded(counts)) === 10, { message: 'the count tasks to run' });
    const countWorker = (await runsOf(counts))[0]?.worker;
    // The noop tasks are due, and stay due while the only scheduler does not run that type: give it a dozen
    // ticks (APP_SCHEDULE_INTERVAL is 100 ms here) to prove a negative.
    const ticks = Date.now() + 1200;
    await waitFor(() => Date.now() > ticks);
    expect(await runsOf(noops)).toHaveLength(0);
    const stillDue = await store.db
      .selectFrom('tasks')
      .select('id')
      .where('id', 'in', noops)
      .where('lease_token', 'is', null)
      .where('last_run_at', 'is', null)
      .execute();
    expect(stillDue).toHaveLength(10);

    await fixture.startApp(mode, { env: { APP_ALLOWED_TYPES: 'noop' } });
    await waitFor(async () => (await succeeded(noops)) === 10, { message: 'the noop tasks to run', timeoutMs: 15_000 });
    const noopRuns = await runsOf(noops);
    const countRuns = await runsOf(counts);
    // Each type ran in its own process only, each slot exactly once.
    expect(new Set(countRuns.map((r) => r.worker))).toEqual(new Set([countWorker]));
    expect(new Set(noopRuns.map((r) => r.worker)).has(countWorker ?? '')).toBe(false);
    expect(new Set(noopRuns.map((r) => r.task_id)).size).toBe(10);
    expect(noopRuns.every((r) => r.status === 'succeeded' && r.attempt === 1)).toBe(true);
  });
});
