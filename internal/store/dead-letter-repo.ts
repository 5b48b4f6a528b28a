import type { Db } from './database.js';
import { deadLetterFromRow, pageOf } from './mappers.js';
import type { DeadLetter, DeadLetterReason, JsonObject, Page } from './types.js';

export interface DeadLetterInsertParams {
  taskId: number | null;
  slot: Date | null;
  reason: DeadLetterReason;
  error: string | null;
  fields: JsonObject;
  now: Date;
}

export async function deadLetterInsert(conn: Db, params: DeadLetterInsertParams): Promise<number> {
  const result = await conn.db
    .insertInto('dead_letters')
    .values({
      task_id: params.taskId,
      slot: params.slot,
      reason: params.reason,
      error: params.error,
      fields: JSON.stringify(params.fields),
      created_at: params.now,
    })
    .executeTakeFirstOrThrow();
  return Number(result.insertId);
}

export async function deadLetterGetById(conn: Db, id: number): Promise<DeadLetter | undefined> {
  const row = await conn.db.selectFrom('dead_letters').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? undefined : deadLetterFromRow(row);
}

/** Dead letters, newest first. */
export async function deadLetterList(
  conn: Db,
  params: { limit: number; cursor?: string | undefined; reason?: DeadLetterReason | undefined },
): Promise<Page<DeadLetter>> {
  const query = conn.db
    .selectFrom('dead_letters')
    .selectAll()
    .$if(params.reason !== undefined, (qb) => qb.where('reason', '=', params.reason as DeadLetterReason));
  return pageOf(query, { ...params, order: 'desc' }, deadLetterFromRow);
}

export async function deadLetterDelete(conn: Db, id: number): Promise<boolean> {
  const result = await conn.db.deleteFrom('dead_letters').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

export async function deadLetterCount(conn: Db): Promise<number> {
  const row = await conn.db
    .selectFrom('dead_letters')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export type DeadLetterReplay =
  | { kind: 'replayed'; taskId: number }
  | { kind: 'not_found' }
  /** The dead letter names no task, or a task that no longer exists: there is no slot to run again. */
  | { kind: 'no_task' };

/**
 * Removes a dead letter whose slot is to run again. The caller makes the task due (run now) in the same
 * transaction, so a replay either happens whole or not at all.
 */
export async function deadLetterTake(conn: Db, id: number): Promise<DeadLetterReplay> {
  const letter = await deadLetterGetById(conn, id);
  if (letter === undefined) return { kind: 'not_found' };
  if (letter.taskId === null) return { kind: 'no_task' };
  const task = await conn.db.selectFrom('tasks').select('id').where('id', '=', letter.taskId).executeTakeFirst();
  if (task === undefined) return { kind: 'no_task' };
  // A concurrent replay of the same letter took it first: only one of them runs the slot again.
  if (!(await deadLetterDelete(conn, id))) return { kind: 'not_found' };
  return { kind: 'replayed', taskId: letter.taskId };
}
