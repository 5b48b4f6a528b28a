import { sql } from 'kysely';
import type { Db } from './database.js';

const consecutiveIds = new WeakMap<object, Promise<boolean>>();

/**
 * Whether one statement that inserts many rows (a multi-row INSERT, or an INSERT … SELECT) gets consecutive ids on
 * this server, the first one being the statement's insert id: true with innodb_autoinc_lock_mode 0 or 1 (MariaDB's
 * and MySQL 5.7's default; not MySQL 8's 2) and an increment of 1. Read once per connection pool.
 */
export function hasConsecutiveIds(conn: Db): Promise<boolean> {
  if (conn.dialect !== 'mysql') return Promise.resolve(false);
  let known = consecutiveIds.get(conn.db);
  if (known === undefined) {
    known = sql<{ mode: number | string; step: number | string }>`SELECT @@innodb_autoinc_lock_mode AS mode, @@auto_increment_increment AS step`
      .execute(conn.db)
      .then(({ rows: [row] }) => row !== undefined && Number(row.mode) <= 1 && Number(row.step) === 1);
    // A failed read (the server is down) is asked again next time.
    known.catch(() => consecutiveIds.delete(conn.db));
    consecutiveIds.set(conn.db, known);
  }
  return known;
}
