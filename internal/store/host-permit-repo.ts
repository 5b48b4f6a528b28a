import type { Db } from './database.js';
import { isStoreError } from './errors.js';
import { toDate } from './mappers.js';
import { withTransaction } from './transaction.js';

/**
 * Politeness per host through the database (polling mode, SQLite): a distributed semaphore and a sliding-window
 * rate in one table, `host_permits`. A request in flight holds a `run` row until it is released, or until the row
 * expires because its process died; each request started also holds a `rate` row for the rate's window. A row's
 * place (`slot_no`) is below the limit and part of the primary key, so two processes racing for the last place
 * cannot both take it: one insert fails, and that one is told to try again shortly.
 */

/** The limits one acquire checks; null is no limit. */
export interface HostLimits {
  /** Requests in flight at once. */
  concurrency: number | null;
  /** Requests started per window: `count` per `perMs`. */
  rate: { count: number; perMs: number } | null;
}

export type HostPermitVerdict = { ok: true } | { ok: false; retryInMs: number; reason: 'concurrency' | 'rate' };

/** How soon a caller refused for concurrency asks again: a permit in flight ends when its request does. */
const CONCURRENCY_RETRY_MS = 200;

/** Takes a place for one request to `host` under `limits`, or says how long to wait before asking again. */
export async function hostPermitAcquire(
  conn: Db,
  params: { host: string; token: string; limits: HostLimits; leaseMs: number; now: Date },
): Promise<HostPermitVerdict> {
  const { host, limits, now } = params;
  try {
    return await withTransaction(conn, async (trx) => {
      await trx.db.deleteFrom('host_permits').where('host', '=', host).where('expires_at', '<=', now).execute();
      const held = await trx.db.selectFrom('host_permits').select(['kind', 'slot_no', 'expires_at']).where('host', '=', host).execute();
      const rows: { kind: 'run' | 'rate'; slot_no: number; expires_at: Date }[] = [];
      if (limits.concurrency !== null) {
        const taken = held.filter((r) => r.kind === 'run');
        const place = freePlace(taken, limits.concurrency);
        if (place === undefined) return { ok: false, retryInMs: CONCURRENCY_RETRY_MS, reason: 'concurrency' } as const;
        rows.push({ kind: 'run', slot_no: place, expires_at: new Date(now.getTime() + params.leaseMs) });
      }
      if (limits.rate !== null) {
        const taken = held.filter((r) => r.kind === 'rate');
        const place = freePlace(taken, limits.rate.count);
        if (place === undefined) {
          const soonest = Math.min(...taken.map((r) => toDate(r.expires_at).getTime()));
          return { ok: false, retryInMs: Math.max(1, soonest - now.getTime()), reason: 'rate' } as const;
        }
        rows.push({ kind: 'rate', slot_no: place, expires_at: new Date(now.getTime() + limits.rate.perMs) });
      }
      if (rows.length > 0) await trx.db.insertInto('host_permits').values(rows.map((r) => ({ host, token: params.token, ...r }))).execute();
      return { ok: true } as const;
    });
  } catch (err) {
    // Another process took the same place first (or the two waited on each other): ask again shortly.
    if (isStoreError(err, 'conflict') || isStoreError(err, 'busy')) return { ok: false, retryInMs: 20 + Math.floor(Math.random() * 30), reason: 'concurrency' };
    throw err;
  }
}

/** Keeps a request's place for another `leaseMs` (while it is still running). */
export async function hostPermitRenew(conn: Db, params: { host: string; token: string; leaseMs: number; now: Date }): Promise<void> {
  await conn.db
    .updateTable('host_permits')
    .set({ expires_at: new Date(params.now.getTime() + params.leaseMs) })
    .where('host', '=', params.host)
    .where('kind', '=', 'run')
    .where('token', '=', params.token)
    .execute();
}

/** Gives a request's place back; its `rate` row stays until its window ends. */
export async function hostPermitRelease(conn: Db, params: { host: string; token: string }): Promise<void> {
  await conn.db.deleteFrom('host_permits').where('host', '=', params.host).where('kind', '=', 'run').where('token', '=', params.token).execute();
}

/** The lowest place below `limit` nobody holds, when fewer than `limit` are held. */
function freePlace(taken: readonly { slot_no: number | string }[], limit: number): number | undefined {
  if (taken.length >= limit) return undefined;
  const used = new Set(taken.map((r) => Number(r.slot_no)));
  for (let i = 0; i < limit; i += 1) if (!used.has(i)) return i;
  return undefined;
}
