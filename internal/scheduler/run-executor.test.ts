import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { HandlerRegistry, defineTaskType } from '../handlers/index.js';
import { systemClock } from '../platform/clock.js';
import { slotClaimDue, taskMemoryGet } from '../store/index.js';
import { RunExecutor } from './run-executor.js';
import { insertTask, quiet, useMemoryStore } from './test-support.js';

describe('RunExecutor and a handler’s memory', () => {
  const db = useMemoryStore();
  /** What the handler keeps after each run, in order; it sees the previous run's memory. */
  const kept: Record<string, unknown>[] = [];
  const seen: unknown[] = [];
  const registry = new HandlerRegistry().register(
    defineTaskType({
      name: 'remembers',
      payloadSchema: z.object({}).strict(),
      usesMemory: true,
      run: async (_payload, ctx) => {
        seen.push(ctx.memory);
        const next = kept.shift();
        if (next !== undefined) ctx.remember(next);
        return { ok: true };
      },
    }),
  );

  /** Runs the task's due slot once, by the clock `at`. */
  async function runSlot(executor: RunExecutor, at: Date, handlerDone?: () => void): Promise<void> {
    const [claim] = await slotClaimDue(db.store, {
      workerId: 'w',
      leaseToken: `t-${at.getTime()}`,
      // Claimed by a clock ahead of the real one: a lease long enough to be alive whatever the clock.
      leaseMs: 3_600_000,
      now: at,
      typePatterns: ['remembers'],
      limit: 1,
      channel: 'poll',
    });
    if (claim === undefined) throw new Error(`nothing due at ${at.toISOString()}`);
    await executor.execute({ claim }, new AbortController().signal, new AbortController().signal, handlerDone);
  }

  it('writes the memory when it changes, and not again when the handler keeps it as it was', async () => {
    // Slots from now on, one a minute; each is claimed by a clock set at it (a slot in the past would be caught up).
    const t0 = new Date();
    const task = await insertTask(db.store, t0, { type: 'remembers', schedule: { every: 60 } });
    const executor = new RunExecutor({ store: db.store, registry, clock: systemClock, ...quiet }, { workerId: 'w', retry: { baseMs: 10, maxMs: 10 } });
    const memoryRow = () => db.store.db.selectFrom('task_memory').select(['value', 'updated_at']).where('task_id', '=', task.id).executeTakeFirst();

    kept.push({ hash: 'a', seen: ['1'] });
    await runSlot(executor, t0);
    const first = await memoryRow();
    expect(await taskMemoryGet(db.store, task.id)).toEqual({ hash: 'a', seen: ['1'] });

    // The same memory, built anew by the handler: nothing is written.
    kept.push({ hash: 'a', seen: ['1'] });
    await runSlot(executor, new Date(t0.getTime() + 60_000));
    expect(await memoryRow()).toEqual(first);

    // A changed memory is written, and the next run sees it.
    kept.push({ hash: 'b', seen: ['1', '2'] });
    await runSlot(executor, new Date(t0.getTime() + 120_000));
    expect(await taskMemoryGet(db.store, task.id)).toEqual({ hash: 'b', seen: ['1', '2'] });
    expect((await memoryRow())?.updated_at).not.toEqual(first?.updated_at);
    await runSlot(executor, new Date(t0.getTime() + 180_000));
    expect(seen).toEqual([null, { hash: 'a', seen: ['1'] }, { hash: 'a', seen: ['1'] }, { hash: 'b', seen: ['1', '2'] }]);
  });

  it('tells the pool once that its handler is done, after the handler and before the outcome is recorded', async () => {
    const t0 = new Date();
    const task = await insertTask(db.store, t0, { type: 'remembers', schedule: { every: 60 } });
    const executor = new RunExecutor({ store: db.store, registry, clock: systemClock, ...quiet }, { workerId: 'w', retry: { baseMs: 10, maxMs: 10 } });
    const before = seen.length;
    const calls: { handlerRan: boolean; status: Promise<string | undefined> }[] = [];
    await runSlot(executor, t0, () => {
      const status = db.store.db.selectFrom('task_runs').select('status').where('task_id', '=', task.id).executeTakeFirst();
      calls.push({ handlerRan: seen.length > before, status: status.then((row) => row?.status) });
    });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.handlerRan).toBe(true);
    // Read when the pool was told: the attempt was still running, its outcome not yet written.
    expect(await calls[0]?.status).toBe('running');
    const runs = await db.store.db.selectFrom('task_runs').select('status').where('task_id', '=', task.id).execute();
    expect(runs).toEqual([{ status: 'succeeded' }]);
  });
});
