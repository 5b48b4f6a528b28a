import { sql } from 'kysely';
import type { Db } from './database.js';
import { toDateOrNull } from './mappers.js';

/** Counts for one task type (or all of them). */
export interface TaskCounts {
  /** Tasks that exist. */
  tasks: number;
  /** Due now and not yet started (status running, not leased). */
  pending: number;
  /** Slots held by a process now (leased): being run, or about to be. */
  leased: number;
  paused: number;
  /** Tasks whose check last reported up, and down (tasks that never reported are neither). */
  up: number;
  down: number;
  /** Attempts by how they ended, over the kept run history. */
  succeeded: number;
  failed: number;
  timedOut: number;
}

/** Task and run counts per type. */
export async function statsByType(conn: Db, params: { now: Date }): Promise<Map<string, TaskCounts>> {
  const taskRows = await conn.db
    .selectFrom('tasks')
    .select([
      'type',
      sql<number>`COUNT(*)`.as('tasks'),
      sql<number>`SUM(CASE WHEN status = 'paused' THEN 1 ELSE 0 END)`.as('paused'),
      sql<number>`SUM(CASE WHEN lease_token IS NOT NULL THEN 1 ELSE 0 END)`.as('leased'),
      sql<number>`SUM(CASE WHEN up = 1 THEN 1 ELSE 0 END)`.as('up'),
      sql<number>`SUM(CASE WHEN up = 0 THEN 1 ELSE 0 END)`.as('down'),
      sql<number>`SUM(CASE WHEN status = 'running' AND lease_token IS NULL AND run_after <= ${params.now} THEN 1 ELSE 0 END)`.as('pending'),
    ])
    .groupBy('type')
    .execute();
  const runRows = await conn.db
    .selectFrom('task_runs')
    .innerJoin('tasks', 'tasks.id', 'task_runs.task_id')
    .select(['tasks.type as type', 'task_runs.status as status', sql<number>`COUNT(*)`.as('n')])
    .where('task_runs.status', '!=', 'running')
    .groupBy(['tasks.type', 'task_runs.status'])
    .execute();
  const out = new Map<string, TaskCounts>();
  const entry = (type: string) => {
    let counts = out.get(type);
    if (counts === undefined) {
      counts = { tasks: 0, pending: 0, leased: 0, paused: 0, up: 0, down: 0, succeeded: 0, failed: 0, timedOut: 0 };
      out.set(type, counts);
    }
    return counts;
  };
  for (const row of taskRows) {
    Object.assign(entry(row.type), {
      tasks: Number(row.tasks),
      pending: Number(row.pending),
      leased: Number(row.leased),
      paused: Number(row.paused),
      up: Number(row.up),
      down: Number(row.down),
    });
  }
  for (const row of runRows) {
    const counts = entry(row.type);
    if (row.status === 'succeeded') counts.succeeded += Number(row.n);
    else if (row.status === 'timed_out') counts.timedOut += Number(row.n);
    else counts.failed += Number(row.n);
  }
  return out;
}

/** What polling mode has to do: due slots not yet started, slots leased, and the oldest due time. */
export interface DueView {
  due: number;
  leased: number;
  oldestDueAt: Date | null;
}

export async function statsDue(conn: Db, params: { now: Date }): Promise<DueView> {
  const row = await conn.db
    .selectFrom('tasks')
    .select([
      sql<number>`SUM(CASE WHEN status = 'running' AND lease_token IS NULL AND run_after <= ${params.now} THEN 1 ELSE 0 END)`.as('due'),
      sql<number>`SUM(CASE WHEN lease_token IS NOT NULL THEN 1 ELSE 0 END)`.as('leased'),
      sql<Date | string | null>`MIN(CASE WHEN status = 'running' AND lease_token IS NULL AND run_after <= ${params.now} THEN run_after END)`.as('oldest'),
    ])
    .executeTakeFirstOrThrow();
  return { due: Number(row.due ?? 0), leased: Number(row.leased ?? 0), oldestDueAt: toDateOrNull(row.oldest) };
}
