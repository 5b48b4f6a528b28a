import type { SelectQueryBuilder, UpdateObject } from 'kysely';
import type { Db } from './database.js';
import { withTransaction } from './transaction.js';
import type { Database } from './types.js';

/**
 * How a transaction locks the rows it is about to change:
 * - `skip-locked`: rows another transaction holds are passed over (claims, queue marks, recovery, the outbox):
 *   whoever holds them is already dealing with them;
 * - `wait`: rows are waited for (fencing an outcome, "run now"), because this transaction must see their latest
 *   state.
 * SQLite has no row locks: BEGIN IMMEDIATE already serialises writers, which is its SKIP LOCKED and its wait.
 */
export type LockMode = 'skip-locked' | 'wait';

/** Runs the query with the rows it selects locked for the rest of the caller's transaction; the one locking helper. */
export function lockRows<T extends keyof Database, R>(trx: Db, query: SelectQueryBuilder<Database, T, R>, mode: LockMode): Promise<R[]> {
  if (trx.dialect !== 'mysql') return query.execute();
  const locked = query.forUpdate();
  return (mode === 'skip-locked' ? locked.skipLocked() : locked).execute();
}

/** Tables whose rows are claimed: tasks (a lease, a queue mark) and notifications (a delivery lease). */
type ClaimedTable = 'tasks' | 'notifications';

/**
 * How every claim takes what it found: locks the rows the query selects, passing over rows others hold, and
 * applies `set` to them by primary key, in the caller's transaction. Returns the rows as the query read them.
 */
export async function lockAndSet<T extends ClaimedTable, R extends { id: number }>(
  trx: Db,
  table: T,
  query: SelectQueryBuilder<Database, T, R>,
  set: UpdateObject<Database, T>,
): Promise<R[]> {
  const rows = await lockRows(trx, query, 'skip-locked');
  if (rows.length === 0) return rows;
  const ids = rows.map((r) => Number(r.id));
  // kysely cannot type `updateTable` over a type parameter; `set` was checked against the right table at the call.
  await trx.db
    .updateTable(table as 'tasks')
    .set(set as UpdateObject<Database, 'tasks'>)
    .where('id', 'in', ids)
    .execute();
  return rows;
}

/**
 * A transaction for the scans that lock with SKIP LOCKED (claims, queue marks, recovery, the outbox). On MySQL it
 * runs at READ COMMITTED: under REPEATABLE READ, InnoDB keeps the lock of every row a scan passes, matching or
 * not, and of the gaps between them. A publisher scanning the due range would then hold rows it does not publish
 * (a task the API has just queued), a consumer claiming that task at the same moment would skip it and
 * acknowledge its entry as a duplicate, and the slot would wait for its queue mark to expire; and the gap locks
 * made inserts of new tasks deadlock with the scans. READ COMMITTED keeps only the locks of matching rows and
 * takes no gap locks.
 */
export function withClaimTransaction<T>(conn: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  if (conn.dialect !== 'mysql') return withTransaction(conn, fn);
  return conn.db
    .transaction()
    .setIsolationLevel('read committed')
    .execute((trx) => fn({ db: trx, dialect: conn.dialect }));
}
