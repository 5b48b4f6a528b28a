import { sql } from 'kysely';
import type { Db } from './database.js';
import { toDate } from './mappers.js';

/**
 * The database's clock now, in ms since the epoch: what `platform/db-clock.ts` measures this process's clock
 * against. MySQL answers `UTC_TIMESTAMP(3)` (UTC whatever the session's zone, read as UTC by the driver). An
 * embedded SQLite file has no clock of its own: its clock is this process's.
 */
export async function dbTimeNow(conn: Db): Promise<number> {
  if (conn.dialect !== 'mysql') return Date.now();
  const { rows } = await sql<{ now: Date | string }>`SELECT UTC_TIMESTAMP(3) AS now`.execute(conn.db);
  const row = rows[0];
  if (row === undefined) throw new Error('the database did not answer its time');
  return toDate(row.now).getTime();
}
