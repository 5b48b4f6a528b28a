import type { Db } from './database.js';
import { StoreError } from './errors.js';

/** Runs `fn` in one transaction; `fn` receives a Db bound to it. Rolled back when `fn` throws. */
export function withTransaction<T>(conn: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  return conn.db.transaction().execute((trx) => fn({ db: trx, dialect: conn.dialect }));
}

/** Runs `fn` in the caller's transaction when `conn` is one, otherwise in a transaction of its own. */
export function inTransaction<T>(conn: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  return conn.db.isTransaction ? fn(conn) : withTransaction(conn, fn);
}

/**
 * Runs `fn` again when the database reports a deadlock or a lock wait timeout (`busy`), which InnoDB resolves by
 * rolling the statement's transaction back: trying again is the documented remedy. Other errors pass through.
 */
export async function retryOnBusy<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !(err instanceof StoreError && err.code === 'busy')) throw err;
    }
  }
}
