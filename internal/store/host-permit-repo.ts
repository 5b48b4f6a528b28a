import type { Db } from './database.js';
import { isStoreError } from './errors.js';
import { toDate } from './mappers.js';

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
  // Another process taking the same place first (or the two waiting on each other) is not the limit speaking: try
  // again at once, with what that process took now in sight.
  for (let tries = 1; ; tries += 1) {
    try {
      return await hostPermitTryAcquire(conn, params);
    } catch (err) {
      if (tries < 5 && (isStoreError(err, 'conflict') || isStoreError(err, 'busy'))) continue;
      if (isStoreError(err, 'conflict') || isStoreError(err, 'busy')) return { ok: false, retryInMs: 20 + Math.floor(Math.random() * 30), reason: 'concurrency' };
      throw err;
    }
  }
}

/**
 * One try, in single statements rather than one transaction: the primary key alone keeps two processes off one
 * place, and a transaction would only add locks (on MySQL, next-key locks that reach into the neighbouring hosts'
 * rows and make their acquires wait on this host's).
 */
async function hostPermitTryAcquire(
  conn: Db,
  params: { host: string; token: string; limits: HostLimits; leaseMs: number; now: Date },
): Promise<HostPermitVerdict> {
  const { host, limits, now, token } = params;
  await conn.db.deleteFrom('host_permits').where('host', '=', host).where('expires_at', '<=', now).execute();
  const held = await conn.db.selectFrom('host_permits').select(['kind', 'slot_no', 'expires_at']).where('host', '=', host).execute();
  let runPlace: number | undefined;
  if (limits.concurrency !== null) {
    runPlace = freePlace(held.filter((r) => r.kind === 'run'), limits.concurrency);
    if (runPlace === undefined) return { ok: false, retryInMs: CONCURRENCY_RETRY_MS, reason: 'concurrency' };
  }
  let ratePlace: number | undefined;
  if (limits.rate !== null) {
    const taken = held.filter((r) => r.kind === 'rate');
    ratePlace = freePlace(taken, limits.rate.count);
    if (ratePlace === undefined) {
      const soonest = Math.min(...taken.map((r) => toDate(r.expires_at).getTime()));
      return { ok: false, retryInMs: Math.max(1, soonest - now.getTime()), reason: 'rate' };
    }
  }
  if (runPlace !== undefined) {
    await conn.db
      .insertInto('host_permits')
      .values({ host, kind: 'run', slot_no: runPlace, token, expires_at: new Date(now.getTime() + params.leaseMs) })
      .execute();
  }
  if (ratePlace !== undefined && limits.rate !== null) {
    try {
      await conn.db
        .insertInto('host_permits')
        .values({ host, kind: 'rate', slot_no: ratePlace, token, expires_at: new Date(now.getTime() + limits.rate.perMs) })
        .execute();
    } catch (err) {
      if (runPlace !== undefined) await hostPermitRelease(conn, { host, token });
      throw err;
    }
  }
  return { ok: true };
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
