import type { Db } from './database.js';
import { deleteSelectedIds } from './transaction.js';
import { decodeCursor, pageOf, runFromRow } from './mappers.js';
import type { Page, TaskRun } from './types.js';

export interface RunListByTaskParams {
  taskId: number;
  limit: number;
  cursor?: string | undefined;
}

/** A task's runs, newest first. */
export async function runListByTask(conn: Db, params: RunListByTaskParams): Promise<Page<TaskRun>> {
  let query = conn.db
    .selectFrom('task_runs')
    .selectAll()
    .where('task_id', '=', params.taskId)
    .orderBy('id', 'desc')
    .limit(params.limit + 1);
  const before = params.cursor === undefined ? undefined : decodeCursor(params.cursor);
  if (before !== undefined) query = query.where('id', '<', before);
  const rows = await query.execute();
  return pageOf(rows, params.limit, runFromRow);
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

/** Deletes up to `limit` finished runs that started before `before`. Returns how many were deleted. */
export async function runDeleteBefore(conn: Db, params: { before: Date; limit: number }): Promise<number> {
  const ids = await conn.db
    .selectFrom('task_runs')
    .select('id')
    .where('started_at', '<', params.before)
    .where('status', '!=', 'running')
    .orderBy('id', 'asc')
    .limit(params.limit)
    .execute();
  return deleteSelectedIds(conn, 'task_runs', ids);
}
