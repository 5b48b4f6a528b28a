import { sql } from 'kysely';
import type { Db } from './database.js';

/** What retention deletes, and how each table says a row is old and finished. */
const RETAINED = {
  /** Runs by start time; a run still in progress is never deleted, however old. */
  task_runs: { time: 'started_at', unfinished: { column: 'status', value: 'running' } },
  dead_letters: { time: 'created_at', unfinished: undefined },
  /** Notifications by creation time; one still pending delivery is kept. */
  notifications: { time: 'created_at', unfinished: { column: 'status', value: 'pending' } },
} as const;

export type RetainedTable = keyof typeof RETAINED;

/**
 * Deletes up to `limit` rows of `table` older than `before` that are finished, oldest first. It selects the ids
 * first and deletes by primary key, so that each statement stays small and locks exactly those rows. Returns how
 * many were deleted; retention repeats it until a batch comes back short.
 */
export async function retentionDeleteBefore(conn: Db, table: RetainedTable, params: { before: Date; limit: number }): Promise<number> {
  const { time, unfinished } = RETAINED[table];
  const rows = await conn.db
    .selectFrom(table)
    .select('id')
    .where(sql.ref(time), '<', params.before)
    .$if(unfinished !== undefined, (qb) => qb.where(sql.ref(unfinished?.column ?? ''), '!=', unfinished?.value ?? ''))
    .orderBy('id', 'asc')
    .limit(params.limit)
    .execute();
  if (rows.length === 0) return 0;
  const result = await conn.db
    .deleteFrom(table)
    .where(
      'id',
      'in',
      rows.map((r) => Number(r.id)),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
