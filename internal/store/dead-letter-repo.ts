import type { Db } from './database.js';
import { isStoreError } from './errors.js';
import { deadLetterFromRow, pageOf } from './mappers.js';
import { capJsonValue, capText } from './output-cap.js';
import type { DeadLetter, DeadLetterReason, JsonObject, Page } from './types.js';

export interface DeadLetterInsertParams {
  taskId: number | null;
  slot: Date | null;
  reason: DeadLetterReason;
  error: string | null;
  fields: JsonObject;
  /**
   * The stream entry it is made from, as `<stream key>/<entry id>`. A dead letter is written once per entry: when
   * one already exists for it (the entry was delivered again), that one's id is returned and nothing is written.
   */
  entryKey?: string | undefined;
  now: Date;
}

export async function deadLetterInsert(conn: Db, params: DeadLetterInsertParams): Promise<number> {
  const entryKey = params.entryKey ?? null;
  if (entryKey !== null) {
    const existing = await deadLetterIdByEntry(conn, entryKey);
    if (existing !== undefined) return existing;
  }
  try {
    const result = await conn.db
      .insertInto('dead_letters')
      .values({
        task_id: params.taskId,
        slot: params.slot,
        reason: params.reason,
        error: capText(params.error),
        fields: JSON.stringify(capJsonValue(params.fields, MAX_FIELDS_BYTES)),
        entry_key: entryKey,
        created_at: params.now,
      })
      .executeTakeFirstOrThrow();
    return Number(result.insertId);
  } catch (err) {
    // Another consumer wrote it in the same moment (the unique key on entry_key): that one stands.
    if (entryKey !== null && isStoreError(err, 'conflict')) {
      const existing = await deadLetterIdByEntry(conn, entryKey);
      if (existing !== undefined) return existing;
    }
    throw err;
  }
}

/** A dead letter's `fields` (an entry's raw fields) are kept up to this many bytes of JSON. */
const MAX_FIELDS_BYTES = 64 * 1024;

async function deadLetterIdByEntry(conn: Db, entryKey: string): Promise<number | undefined> {
  const row = await conn.db.selectFrom('dead_letters').select('id').where('entry_key', '=', entryKey).executeTakeFirst();
  return row === undefined ? undefined : Number(row.id);
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
