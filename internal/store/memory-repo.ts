import type { Db } from './database.js';
import { parseJson } from './mappers.js';
import type { JsonObject } from './types.js';

/** What the task's handler kept after its last successful run, or null. */
export async function taskMemoryGet(conn: Db, taskId: number): Promise<JsonObject | null> {
  const row = await conn.db.selectFrom('task_memory').select('value').where('task_id', '=', taskId).executeTakeFirst();
  return row === undefined ? null : parseJson<JsonObject>(row.value);
}

/** What each of these tasks' handlers kept, by task id; a task that keeps nothing is absent. */
export async function taskMemoryGetMany(conn: Db, taskIds: readonly number[]): Promise<Map<number, JsonObject | null>> {
  const rows = await conn.db.selectFrom('task_memory').select(['task_id', 'value']).where('task_id', 'in', taskIds).execute();
  return new Map(rows.map((row) => [Number(row.task_id), parseJson<JsonObject>(row.value)]));
}

/** Replaces the task's memory (an upsert in either dialect). */
export async function taskMemoryPut(conn: Db, params: { taskId: number; value: JsonObject; now: Date }): Promise<void> {
  const row = { task_id: params.taskId, value: JSON.stringify(params.value), updated_at: params.now };
  const insert = conn.db.insertInto('task_memory').values(row);
  await (conn.dialect === 'mysql'
    ? insert.onDuplicateKeyUpdate({ value: row.value, updated_at: row.updated_at })
    : insert.onConflict((oc) => oc.column('task_id').doUpdateSet({ value: row.value, updated_at: row.updated_at }))
  ).execute();
}
