import type { Db } from './database.js';

/** Runs `fn` in one transaction; `fn` receives a Db bound to it. Rolled back when `fn` throws. */
export function withTransaction<T>(conn: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  return conn.db.transaction().execute((trx) => fn({ db: trx, dialect: conn.dialect }));
}
