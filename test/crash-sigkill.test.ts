import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TaskRunRow } from '../internal/store/index.js';
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
import { type TestStore, createTestStore, uniqueName, waitFor } from './support/services.js';

/**
 * G2 and G3 under `kill -9`: a real scheduler process is killed while twenty handlers are in flight and up to
 * 280 more claims sit in its buffer. A new process must finish every slot, within the recovery timeout of the kill,
 * with exactly one outcome each; the attempts that died are recorded as failed and run again as `recovery`.
 */

const TASKS = 300;
const RECOVERY_TIMEOUT_MS = 3000;

describe('a scheduler killed with SIGKILL', () => {
  let db: TestStore;
  const stream = uniqueName('vigil_crash');
  const children: VigilChild[] = [];

  beforeAll(async () => {
    db = await createTestStore('mysql', 'crash_sigkill');
  });

  // A test that failed half-way must not leave a process behind to run the next test's tasks.
  beforeEach(() => killAll(children));

  afterAll(async () => {
    await killAll(children);
    await deleteStreams(stream);
    await db?.cleanup();
  });

  function spawnScheduler(extra: Record<string, string>): VigilChild {
    const child = spawnVigil(
      'scheduler',
      childEnv(db.env, stream, { APP_WORKER_POOL_SIZE: '20', APP_RECOVERY_TIMEOUT: `${RECOVERY_TIMEOUT_MS}ms`, ...extra }),
    );
    children.push(child);
    return child;
  }

  async function crashAndRecover(label: string, extra: Record<string, string>, expectedSource: 'periodic' | 'poll') {
    const modeLine = expectedSource === 'poll' ? /"mode":"db_polling".*scheduler started/ : /"mode":"redis_streams".*scheduler started/;
    const first = spawnScheduler(extra);
    await waitReady(first);
    await first.waitForLine(modeLine, 10_000);
    const { ids, slot } = await insertDueTasks(
      db.store,
      Array.from({ length: TASKS }, (_, i) => ({ type: 'sleep', payload: { ms: 200 + ((i * 7) % 201) }, maxAttempts: 3 })),
    );
    await waitFor(() => runLines([first]).length >= 50, { timeoutMs: 30_000, message: '50 handler calls' });

    first.kill('SIGKILL');
    const killedAt = Date.now();
    expect(await first.exited).toBe('SIGKILL');
    const inFlightAtKill = await runsOf(ids, 'running');
    // The kill must hit handlers mid-run, or this test proves nothing about recovery.
    expect(inFlightAtKill.length).toBeGreaterThan(0);
    const leased = await db.store.db
      .selectFrom('tasks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('id', 'in', ids)
      .where('lease_token', 'is not', null)
      .executeTakeFirstOrThrow();
    const leasedAtKill = Number(leased.n);

    const second = spawnScheduler(extra);
    await waitReady(second);
    const secondReadyAt = Date.now();
    await waitForOutcomes(db.store, ids, {
      timeoutMs: RECOVERY_TIMEOUT_MS + 15_000,
      intervalMs: 100,
      what: `every slot to reach an outcome (${label})`,
    });
    const lastOutcomeMs = Date.now() - killedAt;
    expect(lastOutcomeMs).toBeLessThanOrEqual(RECOVERY_TIMEOUT_MS + 15_000);

    // Settle: the second process acknowledges and finishes bookkeeping; nothing may run after every outcome.
    second.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const tasks = await db.store.db.selectFrom('tasks').selectAll().where('id', 'in', ids).execute();
    const runs = await runsOf(ids);
    const deadLetters = await db.store.db.selectFrom('dead_letters').selectAll().where('task_id', 'in', ids).execute();
    const calls = runLines([first, second]).filter((r) => ids.includes(r.taskId));

    // Exactly one outcome per slot: one succeeded row for the first slot, or a failed slot with its dead letter.
    const slotIso = slot.toISOString();
    for (const task of tasks) {
      const id = Number(task.id);
      const slotRuns = runs.filter((r) => Number(r.task_id) === id && new Date(r.slot).toISOString() === slotIso);
      const succeeded = slotRuns.filter((r) => r.status === 'succeeded');
      if (task.last_status === 'succeeded') {
        expect(succeeded, `task ${id}`).toHaveLength(1);
      } else {
        expect(task.last_status, `task ${id}`).toBe('failed');
        expect(succeeded, `task ${id}`).toHaveLength(0);
        expect(deadLetters.filter((d) => Number(d.task_id) === id)).toHaveLength(1);
      }
      // The slot moved on to the next interval, and nobody holds it.
      expect(new Date(task.next_run_at).getTime()).toBeGreaterThan(slot.getTime());
      expect(task.lease_token).toBeNull();
    }
    // One kill with three attempts allowed: every slot should have succeeded.
    expect(tasks.filter((t) => t.last_status === 'succeeded')).toHaveLength(TASKS);
    expect(deadLetters).toHaveLength(0);

    // No attempt twice: not in the database, and not among the handler calls of both processes.
    const attemptKeys = runs.map((r) => `${r.task_id}/${new Date(r.slot).toISOString()}/${r.attempt}`);
    expect(new Set(attemptKeys).size).toBe(attemptKeys.length);
    const callKeys = calls.map((c) => `${c.taskId}/${c.slot}/${c.attempt}`);
    expect(new Set(callKeys).size).toBe(callKeys.length);
    // Every recorded success was a real handler call of one of the two processes.
    const callSet = new Set(callKeys);
    for (const run of runs.filter((r) => r.status === 'succeeded')) {
      expect(callSet.has(`${run.task_id}/${new Date(run.slot).toISOString()}/${run.attempt}`)).toBe(true);
    }

    // The attempts that died with the process: failed, blamed on the lost executor, and run again as recovery.
    const died = runs.filter((r) => r.status !== 'succeeded');
    expect(died.length).toBe(inFlightAtKill.length);
    expect(died.map((r) => Number(r.id)).sort()).toEqual(inFlightAtKill.map((r) => Number(r.id)).sort());
    for (const run of died) {
      expect(run.status).toBe('failed');
      expect(run.error).toMatch(/executor|lease/);
      const retry = runs.find((r) => r.task_id === run.task_id && r.attempt === run.attempt + 1);
      expect(retry?.source, `re-run of task ${run.task_id}`).toBe('recovery');
      expect(retry?.status).toBe('succeeded');
    }
    // Later attempts only ever come from recovery; first attempts came through this mode's channel.
    for (const run of runs) {
      if (run.attempt > 1) expect(run.source).toBe('recovery');
      else expect(run.source).toBe(expectedSource);
    }
    expect(runs.filter((r) => r.status === 'running')).toHaveLength(0);

    // The dead process's leases were taken back within the recovery timeout of the kill, or at once if the new
    // process took longer than that to start; after that the slots only wait for a free worker.
    const recoveryLogs = second.lines
      .filter((line) => line.includes('recovered runs whose executor died'))
      .map((line) => JSON.parse(line) as { time: string; recovered: number; exhausted: number });
    expect(recoveryLogs.length).toBeGreaterThan(0);
    const firstRecoveryAt = Math.min(...recoveryLogs.map((l) => Date.parse(l.time)));
    const firstRecoveryMs = firstRecoveryAt - killedAt;
    expect(firstRecoveryAt).toBeLessThanOrEqual(Math.max(killedAt + RECOVERY_TIMEOUT_MS, secondReadyAt) + 2000);
    // Everything the dead process held (running or buffered) came back through recovery, none of it exhausted.
    expect(recoveryLogs.reduce((n, l) => n + l.recovered, 0)).toBe(leasedAtKill);
    expect(recoveryLogs.reduce((n, l) => n + l.exhausted, 0)).toBe(0);
    const recoveryRuns = runs.filter((r) => r.source === 'recovery');
    const latestRecoveryStartMs = Math.max(...recoveryRuns.map((r) => new Date(r.started_at).getTime() - killedAt));
    const recovered = recoveryRuns.length;
    console.log(
      `[crash-sigkill ${label}] slots=${TASKS} outcomes=${tasks.filter((t) => t.last_status !== null).length} ` +
        `recovered_attempts=${recovered} handler_calls=${calls.length} (killed process ${runLines([first]).length}, ` +
        `new process ${runLines([second]).length}) last_outcome_after_kill=${lastOutcomeMs}ms first_recovery_after_kill=${firstRecoveryMs}ms latest_recovery_start_after_kill=${latestRecoveryStartMs}ms leased_at_kill=${leasedAtKill}`,
    );
  }

  async function runsOf(ids: number[], status?: TaskRunRow['status']): Promise<TaskRunRow[]> {
    let query = db.store.db.selectFrom('task_runs').selectAll().where('task_id', 'in', ids);
    if (status !== undefined) query = query.where('status', '=', status);
    return query.orderBy('id').execute();
  }

  it('stream mode: every slot reaches exactly one outcome, and the killed attempts are recovered', async () => {
    await crashAndRecover('stream', {}, 'periodic');
  }, 60_000);

  it('polling mode: every slot reaches exactly one outcome, and the killed attempts are recovered', async () => {
    await crashAndRecover('polling', { APP_ENABLE_REDIS_QUEUE: 'false' }, 'poll');
  }, 60_000);
});
