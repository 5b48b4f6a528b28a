import { describe, expect, it } from 'vitest';
import type { ClaimedSlot } from '../store/index.js';
import type { Job } from './job.js';
import { quiet } from './test-support.js';
import { type JobRunner, LeaseLostError, WorkerPool } from './worker-pool.js';

/** A runner whose runs the test ends by hand. */
function manualRunner() {
  const runs: { job: Job; signal: AbortSignal; finish: () => void; handlerDone: () => void }[] = [];
  const runner: JobRunner = {
    execute: (job, signal, _abandoned, handlerDone) =>
      new Promise<void>((resolve) => {
        const run = { job, signal, finish: resolve, handlerDone };
        runs.push(run);
        // A run aborted by the pool ends at once, as the executor's do.
        signal.addEventListener('abort', () => resolve(), { once: true });
      }),
  };
  return { runs, runner };
}

function job(id: number, priority = 3): Job {
  return { claim: { task: { id, priority }, leaseToken: `t${id}` } as unknown as ClaimedSlot };
}

function pool(size: number, capacity: number, shutdownTimeoutMs = 1000) {
  const { runs, runner } = manualRunner();
  const released: number[] = [];
  const wp = new WorkerPool(
    { runner, releaseClaims: async (claims) => void released.push(...claims.map((c) => c.task.id)), ...quiet },
    { size, capacity, shutdownTimeoutMs },
  );
  return { wp, runs, released };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Whether a promise has settled, read later without awaiting it. */
function watch(promise: Promise<unknown>): () => boolean {
  let settled = false;
  void promise.finally(() => {
    settled = true;
  });
  return () => settled;
}

describe('WorkerPool', () => {
  it('runs at most `size` jobs at once and buffers up to `capacity` more, then refuses', () => {
    const { wp, runs } = pool(2, 1);
    expect([1, 2, 3, 4].map((id) => wp.offer(job(id)))).toEqual([true, true, true, false]);
    expect(runs.map((r) => r.job.claim.task.id)).toEqual([1, 2]);
    expect(wp.room()).toBe(0);
  });

  it('starts buffered jobs highest priority first, FIFO within a priority', async () => {
    const { wp, runs } = pool(1, 10);
    wp.offer(job(1, 1));
    for (const [id, priority] of [[2, 1], [3, 5], [4, 3], [5, 5]] as const) wp.offer(job(id, priority));
    for (let i = 0; i < 5; i += 1) {
      runs[i]?.finish();
      await settle();
    }
    expect(runs.map((r) => r.job.claim.task.id)).toEqual([1, 3, 5, 4, 2]);
  });

  it('gives back the claims of jobs it refuses when offered many at once', async () => {
    const { wp, released } = pool(1, 1);
    expect(await wp.offerAll([job(1), job(2), job(3)])).toBe(2);
    expect(released).toEqual([3]);
  });

  it('wakes a source waiting for room when a run ends', async () => {
    const { wp, runs } = pool(1, 0);
    wp.offer(job(1));
    const woke = watch(wp.whenRoom());
    await settle();
    expect(woke()).toBe(false);
    runs[0]?.finish();
    await settle();
    expect(woke()).toBe(true);
  });

  it('aborts a running job and drops a buffered one whose leases were lost', async () => {
    const { wp, runs } = pool(1, 1);
    const [running, buffered] = [job(1), job(2)];
    wp.offer(running);
    wp.offer(buffered);
    expect(wp.abandonClaims([running.claim, buffered.claim], 'lost')).toBe(2);
    expect(runs[0]?.signal.reason).toBeInstanceOf(LeaseLostError);
    await settle();
    expect(runs).toHaveLength(1);
    expect(wp.heldClaims()).toEqual([]);
  });

  it('stops: refuses new jobs, gives back the buffered ones and waits for the running ones', async () => {
    const { wp, runs, released } = pool(1, 2);
    wp.offer(job(1));
    wp.offer(job(2));
    const stopped = wp.stop();
    expect(wp.offer(job(3))).toBe(false);
    await settle();
    expect(released).toEqual([2]);
    const done = watch(stopped);
    await settle();
    expect(done()).toBe(false);
    runs[0]?.finish();
    await stopped;
    expect(wp.drained).toEqual({ released: 1, abandoned: 0 });
    expect(runs[0]?.signal.aborted).toBe(false);
    // Idempotent.
    await wp.stop();
  });

  it('gives a worker to the next job once a handler is done, up to `size` runs recording', async () => {
    const { wp, runs } = pool(2, 10);
    for (let id = 1; id <= 6; id += 1) wp.offer(job(id));
    const started = () => runs.map((r) => r.job.claim.task.id);
    expect(started()).toEqual([1, 2]);
    expect(wp.room()).toBe(12 - 2 - 4);

    runs[0]?.handlerDone();
    runs[0]?.handlerDone(); // a second call changes nothing
    expect(started()).toEqual([1, 2, 3]);
    expect([wp.active, wp.recording]).toEqual([2, 1]);
    runs[1]?.handlerDone();
    expect(started()).toEqual([1, 2, 3, 4]);
    expect([wp.active, wp.recording]).toEqual([2, 2]);
    // Two working and two buffered: the recording runs take no room.
    expect(wp.room()).toBe(12 - 2 - 2);

    // Two runs are recording already: a third handler that is done keeps its worker until a recording ends.
    runs[2]?.handlerDone();
    expect(started()).toEqual([1, 2, 3, 4]);
    runs[0]?.finish();
    await settle();
    expect(started()).toEqual([1, 2, 3, 4, 5]);
    expect([wp.active, wp.recording]).toEqual([2, 2]);
    runs[3]?.handlerDone();
    expect(started()).toEqual([1, 2, 3, 4, 5]);
    runs[2]?.finish();
    await settle();
    expect(started()).toEqual([1, 2, 3, 4, 5, 6]);
    expect([wp.active, wp.recording]).toEqual([2, 2]);
    const gauge = async (g: typeof quiet.metrics.poolActive) => (await g.get()).values[0]?.value;
    expect([await gauge(quiet.metrics.poolActive), await gauge(quiet.metrics.poolRecording)]).toEqual([2, 2]);

    // Every run in flight keeps its lease until recorded, the recording ones included.
    expect(wp.heldClaims().map((c) => c.task.id).sort()).toEqual([2, 4, 5, 6]);
  });

  it('wakes a source waiting for room when a handler is done, before its outcome is recorded', async () => {
    const { wp, runs } = pool(1, 0);
    wp.offer(job(1));
    const woke = watch(wp.whenRoom());
    runs[0]?.handlerDone();
    await settle();
    expect(woke()).toBe(true);
    expect(wp.room()).toBe(1);
  });

  it('stops only when the runs recording are recorded too', async () => {
    const { wp, runs } = pool(1, 0);
    wp.offer(job(1));
    runs[0]?.handlerDone();
    const stopped = wp.stop();
    const done = watch(stopped);
    await settle();
    expect(done()).toBe(false);
    runs[0]?.finish();
    await stopped;
    expect(wp.drained).toEqual({ released: 0, abandoned: 0 });
  });

  it('aborts runs still going at the shutdown deadline and leaves them for recovery', async () => {
    const { wp, runs } = pool(2, 0, 30);
    wp.offer(job(1));
    wp.offer(job(2));
    await wp.stop();
    expect(wp.drained).toEqual({ released: 0, abandoned: 2 });
    expect(runs.every((r) => r.signal.aborted)).toBe(true);
  });
});
