import { type ExpressionBuilder, type SelectQueryBuilder, type SqlBool, sql } from 'kysely';
import type { Db } from './database.js';
import { deadLetterInsert } from './dead-letter-repo.js';
import { taskMemoryPut } from './memory-repo.js';
import { type NotificationDraft, notificationInsert } from './notification-repo.js';
import { scheduleOf, taskFromRow, toDate, toDateOrNull } from './mappers.js';
import { nextSlot } from './slots.js';
import { withTransaction } from './transaction.js';
import type { Database, JsonObject, RunSource, RunStatus, Task, TaskRow } from './types.js';

/**
 * The slot state machine, kept on the task row so that every transition is one conditional UPDATE:
 *
 *            due (run_after <= now, no lease)
 *   idle ──────────────────────────────────────► claimed (lease_token, lease_expires_at, attempts + 1)
 *    ▲  ▲                                           │
 *    │  │ succeeded / attempts used up: next slot   │ attempt ends
 *    │  └───────────────────────────────────────────┤
 *    │     failed with attempts left: run_after =   │
 *    └──── now + backoff, pending_source = retry ◄──┘
 *          lease expired (executor died): recovery marks the attempt failed and frees the slot the same way
 *
 * Every transition out of "claimed" is fenced by (id, lease_token), so a process whose lease was taken over can
 * never record an outcome, and a slot has exactly one.
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
}

export interface ClaimParams {
  /** This process's worker id; heartbeats extend every lease it owns. */
  owner: string;
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
        .select('id')
        .where((eb) => dueUnleased(eb, params.now))
        .where((eb) => typeFilter(eb, params.typePatterns))
        .orderBy('priority', 'desc')
        .orderBy('run_after', 'asc')
        .limit(params.limit),
    );
    return leaseRows(trx, rows.map((r) => Number(r.id)), params, () => params.channel);
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
      .select('id')
      .where('id', 'in', among)
      .where((eb) => dueUnleased(eb, params.now))
      .where((eb) => typeFilter(eb, params.typePatterns))
      .orderBy('id', 'asc');
  const first = await withClaimTransaction(conn, async (trx) => {
    const rows = await lockRows(trx, claimable(trx, ids));
    const claimed = await leaseRows(trx, rows.map((r) => Number(r.id)), params, params.channelOf);
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
          const rows = await claimable(trx, free.map((r) => Number(r.id))).forUpdate().execute();
          return leaseRows(trx, rows.map((r) => Number(r.id)), params, params.channelOf);
        });
        claimed.push(...late);
      }
    } catch {
      // A failed lock wait (deadlock, timeout, lost connection) leaves them unclaimed, as duplicates.
    }
  }
  return { claimed, missing, notAllowed };
}

async function lockRows(trx: Db, query: SelectQueryBuilder<Database, 'tasks', { id: number }>) {
  // SQLite has no row locks: BEGIN IMMEDIATE already serialises writers, which is its SKIP LOCKED.
  return trx.dialect === 'mysql' ? query.forUpdate().skipLocked().execute() : query.execute();
}

/**
 * A transaction for the scans that lock with SKIP LOCKED (claims, queue marks, recovery). On MySQL it runs at
 * READ COMMITTED: under REPEATABLE READ, InnoDB keeps the lock of every row a scan passes, matching or not, and
 * of the gaps between them. A publisher scanning the due range would then hold rows it does not publish (a task
 * the API has just queued), a consumer claiming that task at the same moment would skip it and acknowledge its
 * entry as a duplicate, and the slot would wait for its queue mark to expire; and the gap locks made inserts of
 * new tasks deadlock with the scans. READ COMMITTED keeps only the locks of matching rows and takes no gap locks.
 */
function withClaimTransaction<T>(conn: Db, fn: (trx: Db) => Promise<T>): Promise<T> {
  if (conn.dialect !== 'mysql') return withTransaction(conn, fn);
  return conn.db
    .transaction()
    .setIsolationLevel('read committed')
    .execute((trx) => fn({ db: trx, dialect: conn.dialect }));
}

async function leaseRows(
  trx: Db,
  ids: number[],
  params: ClaimParams,
  channelOf: (id: number) => RunSource,
): Promise<ClaimedSlot[]> {
  if (ids.length === 0) return [];
  await trx.db
    .updateTable('tasks')
    .set((eb) => ({
      lease_token: params.leaseToken,
      lease_owner: params.owner,
      lease_expires_at: new Date(params.now.getTime() + params.leaseMs),
      attempts: eb('attempts', '+', 1),
      queued_until: null,
    }))
    .where('id', 'in', ids)
    .execute();
  const rows = await trx.db.selectFrom('tasks').selectAll().where('id', 'in', ids).execute();
  return rows
    .map((row) => {
      const task = taskFromRow(row);
      return {
        task,
        slot: task.nextRunAt,
        attempt: task.attempts,
        source: task.pendingSource ?? channelOf(task.id),
        leaseToken: params.leaseToken,
      };
    })
    .sort((a, b) => b.task.priority - a.task.priority || a.task.runAfter.getTime() - b.task.runAfter.getTime());
}

function dueUnleased(eb: ExpressionBuilder<Database, 'tasks'>, now: Date) {
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
export function matchesAny(type: string, patterns: readonly string[]): boolean {
  return patterns.some((glob) => {
    const re = new RegExp(`^${glob.replace(/[.+^${}()|[\]\\-]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
    return re.test(type);
  });
}

/**
 * Extends the leases of the given tasks that this process still holds. Only tasks the worker pool holds are
 * extended, so a claim the process gave up on expires and is recovered. Returns how many were extended.
 */
export async function leaseHeartbeat(
  conn: Db,
  params: { owner: string; taskIds: readonly number[]; leaseMs: number; now: Date },
): Promise<number> {
  if (params.taskIds.length === 0) return 0;
  const result = await conn.db
    .updateTable('tasks')
    .set({ lease_expires_at: new Date(params.now.getTime() + params.leaseMs) })
    .where('lease_owner', '=', params.owner)
    .where('id', 'in', [...params.taskIds])
    .where('lease_token', 'is not', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Gives back claims that never started (a stopping process): the slot is due again at once, attempt unused. */
export async function leaseRelease(conn: Db, params: { claims: readonly Pick<ClaimedSlot, 'task' | 'leaseToken'>[] }) {
  for (const claim of params.claims) {
    await conn.db
      .updateTable('tasks')
      .set((eb) => ({ lease_token: null, lease_owner: null, lease_expires_at: null, attempts: eb('attempts', '-', 1) }))
      .where('id', '=', claim.task.id)
      .where('lease_token', '=', claim.leaseToken)
      .execute();
  }
}

/** Records the start of an attempt. The unique (task, slot, attempt) key rejects a second start. */
export async function runStart(
  conn: Db,
  params: { claim: ClaimedSlot; worker: string; now: Date },
): Promise<number> {
  const result = await conn.db
    .insertInto('task_runs')
    .values({
      task_id: params.claim.task.id,
      slot: params.claim.slot,
      attempt: params.claim.attempt,
      source: params.claim.source,
      status: 'running',
      started_at: params.now,
      worker: params.worker,
    })
    .executeTakeFirstOrThrow();
  return Number(result.insertId);
}

export interface AttemptResult {
  status: Exclude<RunStatus, 'running'>;
  output: unknown;
  error: string | null;
  startedAt: Date;
  durationMs: number;
  /** The slot must end now whatever attempts are left (for example its type is unknown here). */
  final?: { reason: 'unknown_type' };
}

/** Side effects of a successful attempt, written in the same transaction as its outcome. */
export interface SlotEffects {
  /** Replaces what the task's handler keeps between runs. */
  memory?: JsonObject | undefined;
  /** The task's current state, as a monitoring handler reported it. */
  up?: boolean | undefined;
  /** Webhook notifications to send (the outbox). */
  notifications?: Omit<NotificationDraft, 'runId'>[] | undefined;
}

export type SlotCompletion =
  | { kind: 'succeeded'; nextRunAt: Date }
  | { kind: 'retry'; runAfter: Date }
  | { kind: 'exhausted'; nextRunAt: Date; deadLetterId: number }
  | { kind: 'lease_lost' };

export interface RetryPolicy {
  /** Delay before the second attempt, in ms; it doubles with each further attempt. */
  baseMs: number;
  /** Upper bound of a delay, in ms. */
  maxMs: number;
  /** Returns [0, 1); injectable for tests. Default Math.random. */
  random?: () => number;
}

/** Exponential backoff with "equal jitter": half the delay is fixed, half random, so retries spread out. */
export function retryDelay(attempt: number, policy: RetryPolicy): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + (policy.random ?? Math.random)() * (exp / 2));
}

/**
 * Records how an attempt ended and moves the slot on, in one transaction fenced by the lease: the run row, the
 * task's next state and, when the attempts are used up, a dead letter.
 */
export async function slotComplete(
  conn: Db,
  params: {
    claim: ClaimedSlot;
    runId: number;
    result: AttemptResult;
    now: Date;
    retry: RetryPolicy;
    /** What a successful attempt leaves behind besides its output; ignored when the attempt did not succeed. */
    effects?: SlotEffects | undefined;
  },
): Promise<SlotCompletion> {
  const { claim, result, now } = params;
  return withTransaction(conn, async (trx) => {
    let fence = trx.db
      .selectFrom('tasks')
      .selectAll()
      .where('id', '=', claim.task.id)
      .where('lease_token', '=', claim.leaseToken);
    if (trx.dialect === 'mysql') fence = fence.forUpdate();
    const row = await fence.executeTakeFirst();
    if (row === undefined) return { kind: 'lease_lost' } as const;

    await trx.db
      .updateTable('task_runs')
      .set({
        status: result.status,
        finished_at: now,
        duration_ms: result.durationMs,
        output: result.output === undefined ? null : JSON.stringify(result.output),
        error: result.error,
      })
      .where('id', '=', params.runId)
      .execute();

    if (result.status === 'succeeded') {
      const { effects } = params;
      const nextRunAt = await moveToNextSlot(trx, row, claim, {
        now,
        lastRunAt: result.startedAt,
        outcome: 'succeeded',
        error: null,
        up: effects?.up,
      });
      if (effects?.memory !== undefined) await taskMemoryPut(trx, { taskId: claim.task.id, value: effects.memory, now });
      if (effects?.notifications !== undefined) {
        await notificationInsert(trx, { drafts: effects.notifications.map((d) => ({ ...d, runId: params.runId })), now });
      }
      return { kind: 'succeeded', nextRunAt };
    }
    if (result.final === undefined && claim.attempt < Number(row.max_attempts)) {
      const runAfter = new Date(now.getTime() + retryDelay(claim.attempt, params.retry));
      await trx.db
        .updateTable('tasks')
        .set({ ...freeLease, run_after: runAfter, pending_source: 'retry', queued_until: null, last_error: result.error })
        .where('id', '=', claim.task.id)
        .where('lease_token', '=', claim.leaseToken)
        .execute();
      return { kind: 'retry', runAfter };
    }
    const deadLetterId = await deadLetterInsert(trx, {
      taskId: claim.task.id,
      slot: claim.slot,
      reason: result.final?.reason ?? 'attempts_exhausted',
      error: result.error,
      fields: { task_id: claim.task.id, type: row.type, slot: claim.slot.toISOString(), attempts: claim.attempt },
      now,
    });
    const nextRunAt = await moveToNextSlot(trx, row, claim, { now, lastRunAt: result.startedAt, outcome: 'failed', error: result.error });
    return { kind: 'exhausted', nextRunAt, deadLetterId };
  });
}

const freeLease = { lease_token: null, lease_owner: null, lease_expires_at: null } as const;

/** Ends the slot with an outcome and schedules the next one (missed slots collapse into one). */
async function moveToNextSlot(
  trx: Db,
  row: TaskRow,
  fence: { task: { id: number }; leaseToken: string },
  end: { now: Date; lastRunAt: Date; outcome: 'succeeded' | 'failed'; error: string | null; up?: boolean | undefined },
): Promise<Date> {
  let next = nextSlot(scheduleOf(row), toDate(row.next_run_at), end.now);
  const manual = toDateOrNull(row.manual_run_at);
  const manualWins = manual !== null && manual.getTime() < next.getTime();
  if (manualWins) next = manual;
  await trx.db
    .updateTable('tasks')
    .set({
      ...freeLease,
      next_run_at: next,
      run_after: next,
      attempts: 0,
      pending_source: manualWins ? 'manual' : null,
      manual_run_at: null,
      queued_until: null,
      last_run_at: end.lastRunAt,
      last_status: end.outcome,
      last_error: end.error,
      ...(end.up === undefined ? {} : { up: end.up ? 1 : 0 }),
    })
    .where('id', '=', fence.task.id)
    .where('lease_token', '=', fence.leaseToken)
    .execute();
  return next;
}

export interface RecoveryResult {
  /** Slots freed to run again as a new attempt. */
  recovered: number;
  /** Slots whose attempts were used up; each became a dead letter. */
  exhausted: number;
}

/**
 * Finds leases that expired (their executor died or lost the database for longer than a lease), marks the
 * attempt that was running as failed, and frees the slot to run again, or ends it when its attempts are used up.
 * Safe to run in several processes at once: rows are locked, and every write is fenced by the expired token.
 */
export async function slotRecoverExpired(conn: Db, params: { now: Date; limit: number }): Promise<RecoveryResult> {
  return withClaimTransaction(conn, async (trx) => {
    let query = trx.db
      .selectFrom('tasks')
      .selectAll()
      .where('lease_token', 'is not', null)
      .where('lease_expires_at', '<', params.now)
      .limit(params.limit);
    if (trx.dialect === 'mysql') query = query.forUpdate().skipLocked();
    const rows = await query.execute();
    const result: RecoveryResult = { recovered: 0, exhausted: 0 };
    for (const row of rows) {
      const task = taskFromRow(row);
      const token = row.lease_token as string;
      const marked = await trx.db
        .updateTable('task_runs')
        .set({ status: 'failed', finished_at: params.now, error: 'executor lost: lease expired' })
        .where('task_id', '=', task.id)
        .where('slot', '=', task.nextRunAt)
        .where('attempt', '=', task.attempts)
        .where('status', '=', 'running')
        .executeTakeFirst();
      // A claim that never started its attempt (it died while buffered) does not use one up.
      const started = Number(marked.numUpdatedRows) > 0;
      const used = started ? task.attempts : task.attempts - 1;
      if (used < task.maxAttempts) {
        await trx.db
          .updateTable('tasks')
          .set({
            ...freeLease,
            attempts: used,
            pending_source: started ? 'recovery' : task.pendingSource,
            queued_until: null,
          })
          .where('id', '=', task.id)
          .where('lease_token', '=', token)
          .execute();
        result.recovered += 1;
        continue;
      }
      await deadLetterInsert(trx, {
        taskId: task.id,
        slot: task.nextRunAt,
        reason: 'attempts_exhausted',
        error: 'executor lost: lease expired',
        fields: { task_id: task.id, type: task.type, slot: task.nextRunAt.toISOString(), attempts: used },
        now: params.now,
      });
      await moveToNextSlot(trx, row, { task, leaseToken: token }, {
        now: params.now,
        lastRunAt: params.now,
        outcome: 'failed',
        error: 'executor lost: lease expired',
      });
      result.exhausted += 1;
    }
    return result;
  });
}

export interface DueForPublish {
  id: number;
  priority: number;
  slot: Date;
  source: RunSource;
}

/**
 * Marks up to `limit` due, free, unqueued tasks as queued (until now + queueMarkMs) and returns them for
 * publishing. The mark is what keeps several publishers, and the API, from publishing one slot twice; if the
 * entry is lost, the mark expires and the task is published again.
 */
export async function slotMarkQueued(
  conn: Db,
  params: { now: Date; limit: number; queueMarkMs: number },
): Promise<DueForPublish[]> {
  return withClaimTransaction(conn, async (trx) => {
    let query = trx.db
      .selectFrom('tasks')
      .select(['id', 'priority', 'next_run_at', 'pending_source'])
      .where((eb) => dueUnleased(eb, params.now))
      .where((eb) => eb.or([eb('queued_until', 'is', null), eb('queued_until', '<=', params.now)]))
      .orderBy('priority', 'desc')
      .orderBy('run_after', 'asc')
      .limit(params.limit);
    if (trx.dialect === 'mysql') query = query.forUpdate().skipLocked();
    const rows = await query.execute();
    if (rows.length === 0) return [];
    await trx.db
      .updateTable('tasks')
      .set({ queued_until: new Date(params.now.getTime() + params.queueMarkMs) })
      .where(
        'id',
        'in',
        rows.map((r) => r.id),
      )
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      priority: Number(r.priority),
      slot: toDate(r.next_run_at),
      source: r.pending_source ?? 'periodic',
    }));
  });
}

/** Clears queue marks so that the publisher offers these tasks again (used for entries handed back). */
export async function slotUnmarkQueued(conn: Db, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await conn.db.updateTable('tasks').set({ queued_until: null }).where('id', 'in', [...ids]).execute();
}

/**
 * "Run now": makes the task due at `now`. A free task gets a new slot at once; a running one keeps its slot, and
 * its completion schedules the next slot no later than `now` (it waits, it does not run beside it).
 */
export async function slotRunNow(
  conn: Db,
  params: { id: number; now: Date; /** The queue mark to set when the caller publishes the slot. */ queuedUntil: Date | null },
): Promise<Task | undefined> {
  return withTransaction(conn, (trx) => slotRunNowIn(trx, params));
}

/** {@link slotRunNow} inside a transaction the caller holds (a dead-letter replay, for one). */
export async function slotRunNowIn(
  trx: Db,
  params: { id: number; now: Date; queuedUntil: Date | null },
): Promise<Task | undefined> {
  let query = trx.db.selectFrom('tasks').selectAll().where('id', '=', params.id);
  if (trx.dialect === 'mysql') query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (row === undefined) return undefined;
  if (row.status !== 'running') return taskFromRow(row);
  // A running slot keeps its place; a slot waiting for a retry keeps its slot and attempts (run now only brings
  // the retry forward); a free task gets a new slot now.
  const update =
    row.lease_token !== null
      ? { manual_run_at: params.now }
      : Number(row.attempts) > 0
        ? { run_after: params.now, pending_source: 'manual' as const, queued_until: params.queuedUntil }
        : {
            next_run_at: params.now,
            run_after: params.now,
            attempts: 0,
            pending_source: 'manual' as const,
            queued_until: params.queuedUntil,
            manual_run_at: null,
          };
  await trx.db.updateTable('tasks').set(update).where('id', '=', params.id).execute();
  const updated = await trx.db.selectFrom('tasks').selectAll().where('id', '=', params.id).executeTakeFirstOrThrow();
  return taskFromRow(updated);
}
