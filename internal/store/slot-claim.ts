import { type ExpressionBuilder, type SqlBool, sql } from 'kysely';
import type { Db } from './database.js';
import { taskFromRow } from './mappers.js';
import { lockRows, withClaimTransaction } from './locking.js';
import type { Database, RunSource, Task, TaskRow } from './types.js';

/**
 * Claims: how a due slot becomes leased by one process. The slot state machine is drawn once, in this package's
 * README; every transition out of `leased` is fenced by (id, lease_token).
 */

/** A slot this process now holds the lease of. */
export interface ClaimedSlot {
  task: Task;
  slot: Date;
  /** The attempt number this claim is (1 for a fresh slot). */
  attempt: number;
  /** Why this attempt runs: retry, recovery and manual win over the channel that delivered it. */
  source: RunSource;
  leaseToken: string;
  /**
   * When the lease runs out unless it is renewed, by the clock the claim was made with (the database's, see
   * `platform/db-clock.ts`). The lease keeper moves its own idea of it on with each renewal.
   */
  leaseExpiresAt: Date;
}

export interface ClaimParams {
  /** This process's worker id, stored as the lease owner; heartbeats extend every lease it owns. */
  workerId: string;
  leaseToken: string;
  leaseMs: number;
  now: Date;
  /** Task types this process runs, as globs; null runs every type. */
  typePatterns: readonly string[] | null;
}

/** Polling: claims up to `limit` due tasks, highest priority first, skipping rows other processes hold. */
export async function slotClaimDue(
  conn: Db,
  params: ClaimParams & { limit: number; channel: RunSource },
): Promise<ClaimedSlot[]> {
  if (params.limit <= 0) return [];
  return withClaimTransaction(conn, async (trx) => {
    const rows = await lockRows(
      trx,
      trx.db
        .selectFrom('tasks')
        .selectAll()
        .where((eb) => dueUnleased(eb, params.now))
        .where((eb) => typeFilter(eb, params.typePatterns))
        .orderBy('priority', 'desc')
        .orderBy('run_after', 'asc')
        .limit(params.limit),
      'skip-locked',
    );
    return leaseRows(trx, rows, params, () => params.channel);
  });
}

export interface ClaimByIdsResult {
  claimed: ClaimedSlot[];
  /** Ids with no task row: the entry names a task that does not exist (or no longer does). */
  missing: number[];
  /** Ids whose type this process does not run; the caller hands them back for another process. */
  notAllowed: number[];
}

/**
 * Stream mode: claims the given tasks when they are due and free. Ids that are not due, already leased or paused
 * are simply not claimed: their entries are duplicates, and acknowledging them loses nothing because the row,
 * not the entry, is the source of truth.
 *
 * One conditional UPDATE by id and one read would take two statements instead of this transaction's five, but the
 * UPDATE waits for every row another writer holds: measured at 100,000 tasks a minute (bench/scale.ts), stream
 * mode then fell from 1,667 to about 800 runs a second. Skipping held rows, then waiting only for those still
 * free, keeps consumers from queueing behind batches of completions.
 */
export async function slotClaimByIds(
  conn: Db,
  params: ClaimParams & { ids: readonly number[]; channelOf: (id: number) => RunSource },
): Promise<ClaimByIdsResult> {
  const ids = [...new Set(params.ids)];
  if (ids.length === 0) return { claimed: [], missing: [], notAllowed: [] };
  const claimable = (trx: Db, among: number[]) =>
    trx.db
      .selectFrom('tasks')
      .selectAll()
      .where('id', 'in', among)
      .where((eb) => dueUnleased(eb, params.now))
      .where((eb) => typeFilter(eb, params.typePatterns))
      .orderBy('id', 'asc');
  const first = await withClaimTransaction(conn, async (trx) => {
    const rows = await lockRows(trx, claimable(trx, ids), 'skip-locked');
    const claimed = await leaseRows(trx, rows, params, params.channelOf);
    const rest = ids.filter((id) => !claimed.some((c) => c.task.id === id));
    const existing =
      rest.length === 0 ? [] : await trx.db.selectFrom('tasks').select(['id', 'type']).where('id', 'in', rest).execute();
    return { claimed, rest, existing };
  });
  const { claimed, rest, existing } = first;
  const existingIds = new Set(existing.map((r) => Number(r.id)));
  const notAllowed =
    params.typePatterns === null
      ? []
      : existing.filter((r) => !matchesAny(r.type, params.typePatterns ?? [])).map((r) => Number(r.id));
  const missing = rest.filter((id) => !existingIds.has(id));
  const candidates = rest.filter((id) => existingIds.has(id) && !notAllowed.includes(id));
  if (candidates.length > 0 && conn.dialect === 'mysql') {
    // SKIP LOCKED also passes over rows that another writer held at that instant (a publisher's scan, a PATCH,
    // a run-now) although nobody claimed them; taking their entries for duplicates would leave the slots waiting
    // for their queue marks to expire. Rows still free by a plain read are claimed again, waiting for the lock
    // this time, in id order. A row claimed meanwhile by another process fails the due-and-free check once the
    // lock is granted, so it stays unclaimed here. Nothing after the first commit may throw: its claims must
    // reach the caller.
    try {
      const free = await claimable(conn, candidates).execute();
      if (free.length > 0) {
        const late = await withClaimTransaction(conn, async (trx) => {
          const rows = await lockRows(trx, claimable(trx, free.map((r) => Number(r.id))), 'wait');
          return leaseRows(trx, rows, params, params.channelOf);
        });
        claimed.push(...late);
      }
    } catch {
      // A failed lock wait (deadlock, timeout, lost connection) leaves them unclaimed, as duplicates.
    }
  }
  return { claimed, missing, notAllowed };
}

/**
 * Leases rows the caller has locked (or, on SQLite, holds the write lock for), and returns them as claims. The rows
 * were read whole by the locking query, so the claims are built from them and what this UPDATE changes, without
 * reading them again.
 */
async function leaseRows(
  trx: Db,
  rows: readonly TaskRow[],
  params: ClaimParams,
  channelOf: (id: number) => RunSource,
): Promise<ClaimedSlot[]> {
  if (rows.length === 0) return [];
  const lease = {
    lease_token: params.leaseToken,
    lease_owner: params.workerId,
    lease_expires_at: new Date(params.now.getTime() + params.leaseMs),
    queued_until: null,
  };
  // The claimed slot becomes the task's floor: no later write may bring back a slot at or before it.
  await trx.db
    .updateTable('tasks')
    .set((eb) => ({ ...lease, attempts: eb('attempts', '+', 1), last_slot: eb.ref('next_run_at') }))
    .where(
      'id',
      'in',
      rows.map((r) => Number(r.id)),
    )
    .execute();
  return rows
    .map((row) => {
      const task = taskFromRow({ ...row, ...lease, attempts: Number(row.attempts) + 1, last_slot: row.next_run_at });
      return {
        task,
        slot: task.nextRunAt,
        attempt: task.attempts,
        source: task.pendingSource ?? channelOf(task.id),
        leaseToken: params.leaseToken,
        leaseExpiresAt: lease.lease_expires_at,
      };
    })
    .sort((a, b) => b.task.priority - a.task.priority || a.task.runAfter.getTime() - b.task.runAfter.getTime());
}

export function dueUnleased(eb: ExpressionBuilder<Database, 'tasks'>, now: Date) {
  return eb.and([eb('status', '=', 'running'), eb('run_after', '<=', now), eb('lease_token', 'is', null)]);
}

/**
 * Globs (`*`, `?`) as LIKE patterns. Type names cannot contain `%` or `!` but may contain `_`, which is escaped
 * with `!` (a backslash would need different quoting in MySQL and SQLite).
 */
function typeFilter(eb: ExpressionBuilder<Database, 'tasks'>, patterns: readonly string[] | null) {
  if (patterns === null) return sql<SqlBool>`1 = 1`;
  if (patterns.length === 0) return sql<SqlBool>`1 = 0`;
  return eb.or(
    patterns.map((glob) => {
      const like = glob.replace(/_/g, '!_').replace(/\*/g, '%').replace(/\?/g, '_');
      return sql<SqlBool>`${eb.ref('type')} LIKE ${like} ESCAPE '!'`;
    }),
  );
}

/** Whether a type matches one of the globs; the JavaScript twin of {@link typeFilter}. */
function matchesAny(type: string, patterns: readonly string[]): boolean {
  return patterns.some((glob) => {
    const re = new RegExp(`^${glob.replace(/[.+^${}()|[\]\\-]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    return re.test(type);
  });
}

/**
 * Extends the leases of the given tasks that this process still holds, and returns the lease token it holds for
 * each. Only tasks the worker pool holds are extended, so a claim the process gave up on expires and is
 * recovered; a claim whose token is not in the answer lost its lease (another process recovered the slot).
 */
export async function leaseHeartbeat(
  conn: Db,
  params: { workerId: string; taskIds: readonly number[]; leaseMs: number; now: Date },
): Promise<Map<number, string>> {
  if (params.taskIds.length === 0) return new Map();
  const ids = [...new Set(params.taskIds)].sort((a, b) => a - b);
  await conn.db
    .updateTable('tasks')
    .set({ lease_expires_at: new Date(params.now.getTime() + params.leaseMs) })
    .where('id', 'in', ids)
    .where('lease_owner', '=', params.workerId)
    .where('lease_token', 'is not', null)
    .execute();
  const held = await conn.db
    .selectFrom('tasks')
    .select(['id', 'lease_token'])
    .where('id', 'in', ids)
    .where('lease_owner', '=', params.workerId)
    .where('lease_token', 'is not', null)
    .execute();
  return new Map(held.map((r) => [Number(r.id), String(r.lease_token)]));
}

/**
 * Gives back claims that never started (a stopping process, a full pool, a task paused meanwhile): the slot is
 * due again at once (if its task runs), attempt unused, and its place stays (`last_slot` is kept). A claim whose
 * attempt did start (its run row exists) is not given back: recovery ends that attempt, so that no (task, slot,
 * attempt) is ever started twice.
 */
export async function leaseRelease(conn: Db, params: { claims: readonly Pick<ClaimedSlot, 'task' | 'leaseToken'>[] }) {
  for (const claim of params.claims) {
    await conn.db
      .updateTable('tasks')
      .set((eb) => ({ lease_token: null, lease_owner: null, lease_expires_at: null, attempts: eb('attempts', '-', 1) }))
      .where('id', '=', claim.task.id)
      .where('lease_token', '=', claim.leaseToken)
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('task_runs')
              .select('task_runs.id')
              .whereRef('task_runs.task_id', '=', 'tasks.id')
              .whereRef('task_runs.slot', '=', 'tasks.next_run_at')
              .whereRef('task_runs.attempt', '=', 'tasks.attempts'),
          ),
        ),
      )
      .execute();
  }
}
