import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskRunRow } from '../internal/store/index.js';
import {
  type SchedFixture,
  SCHED_MODES,
  createSchedFixture,
  getJson,
  holdsFor,
  ms,
  postTask,
  runsOfTask,
} from './support/sched-fixture.js';
import { waitFor } from './support/services.js';

/**
 * G3 over time: a task never runs two slots at once. A slot that comes due while the previous one runs waits for
 * it and then runs at once; when several came due meanwhile, they collapse into one run (the latest slot), rather
 * than piling up one run per missed interval. "Run now" follows the same rule: it waits for a running slot.
 */

const RUN_MS = 1500;
const EVERY_S = 1;
const RUN_NOW_MS = 800;

async function pause(url: string, id: number): Promise<void> {
  const res = await fetch(`${url}/tasks/${id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status: 'paused' }),
  });
  expect(res.status).toBe(200);
}

describe.each(SCHED_MODES)('overlapping slots (%s mode)', (mode) => {
  let fx: SchedFixture;
  let url: string;

  beforeAll(async () => {
    fx = await createSchedFixture(`overlap_${mode}`);
    ({ url } = await fx.startApp(mode));
  });

  afterAll(async () => {
    await fx?.cleanup();
  });

  it('runs one slot at a time, runs the slot that came due right after, and collapses missed slots', async () => {
    const created = await postTask(url, {
      name: 'slower than its schedule',
      type: 'sleep',
      payload: { ms: RUN_MS },
      schedule: { every: EVERY_S },
    });
    const t0 = ms(created.next_run_at as string);

    // Let about four runs happen (six seconds, six slots due), then stop the schedule and let the last run end.
    await waitFor(async () => (await runsOfTask(fx.store, created.id)).filter((r) => r.status !== 'running').length >= 4, {
      timeoutMs: 15_000,
      message: 'four finished runs',
    });
    await pause(url, created.id);
    const pausedAt = Date.now();
    const runs: TaskRunRow[] = await waitFor(async () => {
      const all = await runsOfTask(fx.store, created.id);
      return all.every((r) => r.status !== 'running') ? all : undefined;
    }, { message: 'the last run to end' });

    expect(runs.every((r) => r.status === 'succeeded' && r.attempt === 1)).toBe(true);
    // Polling: the create hands the task to this process, whose poller may have claimed it a moment earlier.
    expect(mode === 'stream' ? ['api'] : ['direct', 'poll']).toContain(runs[0]?.source);
    expect(ms(runs[0]?.slot ?? null)).toBe(t0);

    for (let i = 1; i < runs.length; i += 1) {
      const previous = runs[i - 1] as TaskRunRow;
      const run = runs[i] as TaskRunRow;
      // Never two at once: each run starts after the previous one finished.
      expect(ms(run.started_at)).toBeGreaterThanOrEqual(ms(previous.finished_at));
      // The slot that came due during the previous run runs right after it, not a tick or a schedule later.
      expect(ms(run.started_at) - ms(previous.finished_at)).toBeLessThan(1000);
      // Missed slots collapse into the latest one not after the end of the previous run.
      const latestDue = t0 + Math.floor((ms(previous.finished_at) - t0) / 1000) * 1000;
      expect(ms(run.slot)).toBe(latestDue);
      expect(ms(run.slot)).toBeGreaterThan(ms(previous.slot));
      expect(ms(run.slot)).toBeLessThanOrEqual(ms(run.started_at));
    }
    // The second slot came due while the first was still running.
    expect(ms(runs[1]?.slot ?? null)).toBe(t0 + 1000);
    expect(ms(runs[1]?.slot ?? null)).toBeLessThan(ms(runs[0]?.finished_at ?? null));

    // About one run per 1.5 s of elapsed time, not one per second: the missed slots did not queue up.
    const elapsed = pausedAt - t0;
    expect(runs.length).toBeLessThanOrEqual(Math.ceil(elapsed / RUN_MS) + 1);
    const slotsDue = Math.floor(elapsed / 1000) + 1;
    expect(runs.length).toBeLessThan(slotsDue);
    expect(new Set(runs.map((r) => ms(r.slot))).size).toBe(runs.length);
  });

  it('runs a "run now" that arrives during a run after that run ends, and a free task at once', async () => {
    const created = await postTask(url, {
      name: 'run me now',
      type: 'sleep',
      payload: { ms: RUN_NOW_MS },
      schedule: { every: 3600 },
    });
    await waitFor(async () => (await runsOfTask(fx.store, created.id)).some((r) => r.status === 'running'), {
      message: 'the first run to start',
    });

    // During the run: the run-now slot waits for it.
    const requestedFrom = Date.now();
    await runNow(url, created.id);
    const requestedAt = Date.now();
    const [first, second] = await finishedRuns(fx, created.id, 2);
    expect(mode === 'stream' ? ['api'] : ['direct', 'poll']).toContain(first?.source);
    expect(second?.source).toBe('manual');
    expect(ms(second?.started_at ?? null)).toBeGreaterThanOrEqual(ms(first?.finished_at ?? null));
    expect(ms(second?.started_at ?? null) - ms(first?.finished_at ?? null)).toBeLessThan(1000);
    // Its slot is the time of the request, which came while the first run was going.
    expect(ms(second?.slot ?? null)).toBeLessThanOrEqual(requestedAt);
    expect(ms(second?.slot ?? null)).toBeGreaterThanOrEqual(requestedFrom);
    expect(ms(second?.slot ?? null)).toBeLessThan(ms(first?.finished_at ?? null));

    // On a free task: a new slot now, run at once.
    const free = await runNow(url, created.id);
    expect(free.queued_via).toBe(mode === 'stream' ? 'stream' : 'direct');
    const runs = await finishedRuns(fx, created.id, 3);
    const third = runs[2];
    expect(runs).toHaveLength(3);
    expect(third?.source).toBe('manual');
    expect(ms(third?.slot ?? null)).toBe(ms(free.next_run_at as string));
    expect(ms(third?.started_at ?? null) - ms(third?.slot ?? null)).toBeLessThan(1000);
    // Each run-now is one slot: nothing else runs, and the schedule goes on from the last slot.
    await holdsFor(async () => (await runsOfTask(fx.store, created.id)).length === 3, 300, 'no fourth run');
    const task = await getJson<{ next_run_at: string }>(`${url}/tasks/${created.id}`);
    expect(ms(task.body.next_run_at)).toBe(ms(third?.slot ?? null) + 3600_000);
  });
});

async function runNow(url: string, id: number): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}/tasks/${id}/run`, { method: 'POST' });
  const body = (await res.json()) as Record<string, unknown>;
  expect(res.status, JSON.stringify(body)).toBe(202);
  return body;
}

/** Waits until the task has at least `count` runs, none of them running. */
function finishedRuns(fx: SchedFixture, taskId: number, count: number): Promise<TaskRunRow[]> {
  return waitFor(async () => {
    const runs = await runsOfTask(fx.store, taskId);
    return runs.length >= count && runs.every((r) => r.status !== 'running') ? runs : undefined;
  }, { timeoutMs: 10_000, message: `${count} finished runs of task ${taskId}` });
}
