import type { Db } from './database.js';
import { deadLetterInsert } from './dead-letter-repo.js';
import { scheduleOf, taskFromRow, toDate, toDateOrNull } from './mappers.js';
import { taskMemoryPut } from './memory-repo.js';
import { type NotificationDraft, notificationInsert } from './notification-repo.js';
import { type ClaimedSlot, withClaimTransaction } from './slot-claim.js';
import { nextSlot } from './slots.js';
import { withTransaction } from './transaction.js';
import type { JsonObject, RunStatus, TaskRow } from './types.js';

/** How an attempt starts and ends, and how recovery ends the attempts of executors that died. */

/**
 * Records the start of an attempt, only while the claim's lease still holds: a claim that waited in a buffer past
 * its lease (recovery may have handed the slot on) must not start. Returns the run id, or undefined when the lease
 * is gone. The unique (task, slot, attempt) key rejects a second start of the same attempt.
 */
export async function runStart(
  conn: Db,
  params: { claim: ClaimedSlot; worker: string; now: Date },
): Promise<number | undefined> {
  const { claim } = params;
  const result = await conn.db
    .insertInto('task_runs')
    .columns(['task_id', 'slot', 'attempt', 'source', 'status', 'started_at', 'worker'])
    .expression((eb) =>
      eb
        .selectFrom('tasks')
        .select([
          'id',
          eb.val(claim.slot).as('slot'),
          eb.val(claim.attempt).as('attempt'),
          eb.val(claim.source).as('source'),
          eb.val('running').as('status'),
          eb.val(params.now).as('started_at'),
          eb.val(params.worker).as('worker'),
        ])
        .where('id', '=', claim.task.id)
        .where('lease_token', '=', claim.leaseToken),
    )
    .executeTakeFirstOrThrow();
  return Number(result.numInsertedOrUpdatedRows ?? 0) === 1 ? Number(result.insertId) : undefined;
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
