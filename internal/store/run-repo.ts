import { sql } from 'kysely';
import { hasConsecutiveIds } from './auto-increment.js';
import type { Db } from './database.js';
import { isStoreError } from './errors.js';
import { pageOf, parseJson, runFromRow } from './mappers.js';
import { taskMemoryGetMany } from './memory-repo.js';
import type { ClaimedSlot } from './slot-claim.js';
import { caseById } from './sql-case.js';
import type { JsonObject, Page, TaskRun } from './types.js';

/** The run history: one row per attempt in `task_runs`, written when an attempt starts and when it ends. */

export interface RunListByTaskParams {
  taskId: number;
  limit: number;
  cursor?: string | undefined;
}

/** A task's runs, newest first. */
export async function runListByTask(conn: Db, params: RunListByTaskParams): Promise<Page<TaskRun>> {
  const query = conn.db.selectFrom('task_runs').selectAll().where('task_id', '=', params.taskId);
  return pageOf(query, { ...params, order: 'desc' }, runFromRow);
}

/**
 * The latest finished attempt of each task, by task id; tasks without one are absent. One scalar subquery per task
 * walks the (task, slot, attempt) key backwards from its newest slot, so the cost does not grow with run history.
 */
export async function runLatestFinishedByTasks(conn: Db, taskIds: readonly number[]): Promise<Map<number, TaskRun>> {
  const out = new Map<number, TaskRun>();
  if (taskIds.length === 0) return out;
  const latest = await conn.db
    .selectFrom('tasks')
    .select((eb) => [
      'tasks.id as task_id',
      eb
        .selectFrom('task_runs')
        .select('task_runs.id')
        .whereRef('task_runs.task_id', '=', 'tasks.id')
        .where('task_runs.status', '!=', 'running')
        .orderBy('task_runs.slot', 'desc')
        .orderBy('task_runs.attempt', 'desc')
        .limit(1)
        .as('run_id'),
    ])
    .where('tasks.id', 'in', [...taskIds])
    .execute();
  const runIds = latest.flatMap((row) => (row.run_id === null ? [] : [Number(row.run_id)]));
  if (runIds.length === 0) return out;
  const rows = await conn.db.selectFrom('task_runs').selectAll().where('id', 'in', runIds).execute();
  for (const row of rows) {
    const run = runFromRow(row);
    out.set(run.taskId, run);
  }
  return out;
}

/** Every run of a task in one slot, oldest attempt first. */
export async function runListBySlot(conn: Db, params: { taskId: number; slot: Date }): Promise<TaskRun[]> {
  const rows = await conn.db
    .selectFrom('task_runs')
    .selectAll()
    .where('task_id', '=', params.taskId)
    .where('slot', '=', params.slot)
    .orderBy('attempt', 'asc')
    .execute();
  return rows.map(runFromRow);
}

/**
 * Records the start of attempts, only while each claim's lease still holds and its task is still `running`:
 * - a claim that waited in a buffer past its lease must not start, whether or not recovery has run yet (`now` is
 *   the database's clock, as every lease time is);
 * - a claim of a task that was paused (or deleted) meanwhile must not start once the PATCH or DELETE has answered:
 *   the status is read by the same statement that writes the run row.
 * One INSERT … SELECT writes every run row, fenced by (id, lease_token); the unique (task, slot, attempt) key keeps
 * it to one row per attempt, so trying a start again (after a lost answer) writes nothing new and answers the same
 * run, as long as that run is still `running` under a live lease. Returns the run id of each claim that may run; a
 * claim missing from the answer must not run (its caller gives the lease back with {@link leaseRelease}, which
 * leaves a slot whose attempt did start to recovery), with what the task's handler kept from its last run.
 */
export async function runStartWithMemory(
  conn: Db,
  params: { claims: readonly ClaimedSlot[]; workerId: string; now: Date },
): Promise<Map<ClaimedSlot, StartedRun>> {
  const started = new Map<ClaimedSlot, StartedRun>();
  const oneTrip = await hasConsecutiveIds(conn);
  // A task appears at most once per statement (its CASE arms are keyed by task id); a second claim of the same task
  // (an expired one still buffered beside its successor) goes in a statement of its own.
  let rest = [...params.claims];
  while (rest.length > 0) {
    const batch = new Map<number, ClaimedSlot>();
    const later: ClaimedSlot[] = [];
    for (const claim of rest) {
      if (batch.has(claim.task.id)) later.push(claim);
      else batch.set(claim.task.id, claim);
    }
    rest = later;
    const claims = [...batch.values()].sort((x, y) => x.task.id - y.task.id);
    if (oneTrip && (await startAllInOneTrip(conn, claims, params, started))) continue;
    await startAndReadBack(conn, claims, params, started);
  }
  return started;
}

/** The INSERT … SELECT of the run rows of these claims (one per task), in task id order. */
function runRowsInsert(conn: Db, claims: readonly ClaimedSlot[], params: { workerId: string; now: Date }) {
  return conn.db
    .insertInto('task_runs')
    .columns(['task_id', 'slot', 'attempt', 'source', 'status', 'started_at', 'worker'])
    .expression((eb) =>
      eb
        .selectFrom('tasks')
        .select([
          'id',
          // While a lease holds, the row's slot and attempt are the claim's: nothing else moves them.
          'next_run_at',
          'attempts',
          caseById('id', claims.map((c) => [c.task.id, c.source])).as('source'),
          eb.val('running').as('status'),
          eb.val(params.now).as('started_at'),
          eb.val(params.workerId).as('worker'),
        ])
        .where('id', 'in', claims.map((c) => c.task.id))
        .where('lease_token', '=', caseById('id', claims.map((c) => [c.task.id, c.leaseToken])))
        .where('lease_expires_at', '>', params.now)
        .where('status', '=', 'running')
        // The order the rows, and so their ids, are given in.
        .orderBy('id'),
    );
}

/**
 * The common case in one round trip, on a server that gives the rows of one INSERT … SELECT consecutive ids (see
 * {@link hasConsecutiveIds}): a plain INSERT that writes a row for every claim proves each start, and its ids are
 * the first one onwards in task id order; the memories are read beside it, on another connection. Resolves false,
 * having recorded nothing in `started`, when the INSERT wrote fewer rows (a lease was gone, a task no longer
 * running) or met a row of its own (a start tried again): the rows it did write stay, and the general path reads
 * them back.
 */
async function startAllInOneTrip(
  conn: Db,
  claims: readonly ClaimedSlot[],
  params: { workerId: string; now: Date },
  started: Map<ClaimedSlot, StartedRun>,
): Promise<boolean> {
  const [inserted, memories] = await Promise.all([
    runRowsInsert(conn, claims, params)
      .executeTakeFirstOrThrow()
      .catch((err: unknown) => {
        if (isStoreError(err, 'conflict')) return undefined;
        throw err;
      }),
    taskMemoryGetMany(conn, claims.map((c) => c.task.id)),
  ]);
  if (inserted === undefined || Number(inserted.numInsertedOrUpdatedRows) !== claims.length) return false;
  const first = Number(inserted.insertId);
  claims.forEach((claim, i) => started.set(claim, { runId: first + i, memory: memories.get(claim.task.id) ?? null }));
  return true;
}

/**
 * The general path: the INSERT … SELECT keeps to one row per attempt (a row already there is left as it is), then
 * the run row of each claim is read back while its lease still holds.
 */
async function startAndReadBack(
  conn: Db,
  claims: readonly ClaimedSlot[],
  params: { workerId: string; now: Date },
  started: Map<ClaimedSlot, StartedRun>,
): Promise<void> {
  const insert = runRowsInsert(conn, claims, params);
  await (conn.dialect === 'mysql'
    ? insert.onDuplicateKeyUpdate({ attempt: sql<number>`task_runs.attempt` })
    : insert.onConflict((oc) => oc.doNothing())
  ).execute();
  // Read back the run row of each claim's attempt while its lease still holds: the row this statement wrote, or
  // the one an earlier try of the same start wrote before its answer was lost. A claim whose lease is gone finds
  // nothing, whatever else this process started in the same millisecond. The task's memory comes with it, so
  // that a handler that keeps one costs no statement of its own to read it.
  const rows = await conn.db
    .selectFrom('task_runs as r')
    .innerJoin('tasks as t', (join) =>
      join.onRef('t.id', '=', 'r.task_id').onRef('t.next_run_at', '=', 'r.slot').onRef('t.attempts', '=', 'r.attempt'),
    )
    .leftJoin('task_memory as m', 'm.task_id', 'r.task_id')
    .select(['r.id', 'r.task_id', 'm.value as memory'])
    // The whole unique key of each attempt, so that the lookup never walks a task's run history.
    .where((eb) =>
      eb.or(claims.map((c) => eb.and([eb('r.task_id', '=', c.task.id), eb('r.slot', '=', c.slot), eb('r.attempt', '=', c.attempt)]))),
    )
    .where('t.lease_token', '=', caseById('t.id', claims.map((c) => [c.task.id, c.leaseToken])))
    .where('t.lease_expires_at', '>', params.now)
    .where('r.worker', '=', params.workerId)
    // A finished run is never started again, whatever brought its (task, slot, attempt) back.
    .where('r.status', '=', 'running')
    .execute();
  const byTask = new Map(claims.map((c) => [c.task.id, c]));
  for (const row of rows) {
    const claim = byTask.get(Number(row.task_id));
    if (claim !== undefined) started.set(claim, { runId: Number(row.id), memory: parseJson<JsonObject>(row.memory) });
  }
}

/** An attempt that may run: its run row, and the task's memory (null when it keeps none). */
export interface StartedRun {
  runId: number;
  memory: JsonObject | null;
}

/** {@link runStartWithMemory}, answering only the run id of each claim that may run. */
export async function runStartMany(
  conn: Db,
  params: { claims: readonly ClaimedSlot[]; workerId: string; now: Date },
): Promise<Map<ClaimedSlot, number>> {
  const started = await runStartWithMemory(conn, params);
  return new Map([...started].map(([claim, run]) => [claim, run.runId]));
}
