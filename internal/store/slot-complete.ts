import { type RawBuilder, sql } from 'kysely';
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
 * Records the start of attempts, only while each claim's lease still holds: a claim that waited in a buffer past
 * its lease (recovery may have handed the slot on) must not start. One INSERT … SELECT writes every run row,
 * fenced by (id, lease_token); the unique (task, slot, attempt) key keeps it to one row per attempt, so trying a
 * start again (after a lost answer) writes nothing new and answers the same run. Returns the run id of each claim
 * whose lease holds; a claim missing from the answer must not run.
 */
export async function runStartMany(
  conn: Db,
  params: { claims: readonly ClaimedSlot[]; worker: string; now: Date },
): Promise<Map<ClaimedSlot, number>> {
  const started = new Map<ClaimedSlot, number>();
  // A task appears at most once per statement (its CASE arms are keyed by task id); a second claim of the same task
  // (an expired one still buffered beside its successor) goes in a statement of its own.
  let rest = [...params.claims];
  while (rest.length > 0) {
    const batch = new Map<number, ClaimedSlot>();
    const later: ClaimedSlot[] = [];
    for (const claim of rest) {
      if (batch.has(claim.task.id)) later.push(claim);
      else batch.set(claim.task.id, claim);
    }
    rest = later;
    const claims = [...batch.values()];
    const ids = [...batch.keys()];
    let insert = conn.db
      .insertInto('task_runs')
      .columns(['task_id', 'slot', 'attempt', 'source', 'status', 'started_at', 'worker'])
      .expression((eb) =>
        eb
          .selectFrom('tasks')
          .select([
            'id',
            // While a lease holds, the row's slot and attempt are the claim's: nothing else moves them.
            'next_run_at',
            'attempts',
            caseById('id', claims.map((c) => [c.task.id, c.source])).as('source'),
            eb.val('running').as('status'),
            eb.val(params.now).as('started_at'),
            eb.val(params.worker).as('worker'),
          ])
          .where('id', 'in', ids)
          .where('lease_token', '=', caseById('id', claims.map((c) => [c.task.id, c.leaseToken]))),
      );
    insert =
      conn.dialect === 'mysql'
        ? insert.onDuplicateKeyUpdate({ attempt: sql<number>`task_runs.attempt` })
        : insert.onConflict((oc) => oc.doNothing());
    await insert.execute();
    // Read back the run row of each claim's attempt while its lease still holds: the row this statement wrote, or
    // the one an earlier try of the same start wrote before its answer was lost. A claim whose lease is gone finds
    // nothing, whatever else this process started in the same millisecond.
    const rows = await conn.db
      .selectFrom('task_runs as r')
      .innerJoin('tasks as t', (join) =>
        join.onRef('t.id', '=', 'r.task_id').onRef('t.next_run_at', '=', 'r.slot').onRef('t.attempts', '=', 'r.attempt'),
      )
      .select(['r.id', 'r.task_id'])
      // The whole unique key of each attempt, so that the lookup never walks a task's run history.
      .where((eb) =>
        eb.or(claims.map((c) => eb.and([eb('r.task_id', '=', c.task.id), eb('r.slot', '=', c.slot), eb('r.attempt', '=', c.attempt)]))),
      )
      .where('t.lease_token', '=', caseById('t.id', claims.map((c) => [c.task.id, c.leaseToken])))
      .where('r.worker', '=', params.worker)
      .execute();
    for (const row of rows) {
      const claim = batch.get(Number(row.task_id));
      if (claim !== undefined) started.set(claim, Number(row.id));
    }
  }
  return started;
}

/**
 * `CASE <column> WHEN <id> THEN <value> … [ELSE <otherwise>] END`: one value per row in a statement that writes
 * many rows.
 */
function caseById<V>(column: string, arms: readonly (readonly [number, V])[], otherwise?: RawBuilder<unknown>): RawBuilder<V> {
  const whens = sql.join(
    arms.map(([id, value]) => sql`WHEN ${id} THEN ${value}`),
    sql` `,
  );
  return otherwise === undefined
    ? sql<V>`CASE ${sql.ref(column)} ${whens} END`
    : sql<V>`CASE ${sql.ref(column)} ${whens} ELSE ${otherwise} END`;
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

/** One attempt's end, as the executor hands it over to be recorded. */
export interface CompletionRequest {
  claim: ClaimedSlot;
  runId: number;
  result: AttemptResult;
  /** What a successful attempt leaves behind besides its output; ignored when the attempt did not succeed. */
  effects?: SlotEffects | undefined;
}

/**
 * Records how attempts ended and moves their slots on, in one transaction: the run rows, each task's next state
 * and, when a slot's attempts are used up, a dead letter. Every write is fenced by the lease: the task rows are
 * locked first, and an attempt whose lease is no longer the one it was claimed with records nothing
 * (`lease_lost`). The common case, a success, costs no statement of its own: all run rows are written by one
 * UPDATE, and all next slots by another. Returns one completion per item, in order.
 */
export async function slotCompleteMany(
  conn: Db,
  params: { items: readonly CompletionRequest[]; now: Date; retry: RetryPolicy },
): Promise<SlotCompletion[]> {
  const { items, now } = params;
  if (items.length === 0) return [];
  // The default isolation, as for any transaction that locks its rows by primary key. The task rows are locked in
  // id order, and the per-item writes below follow the same order, so that two batches cannot deadlock each other.
  return withTransaction(conn, async (trx) => {
    const ids = [...new Set(items.map((i) => i.claim.task.id))].sort((a, b) => a - b);
    let fence = trx.db.selectFrom('tasks').selectAll().where('id', 'in', ids).orderBy('id');
    if (trx.dialect === 'mysql') fence = fence.forUpdate();
    const rows = new Map((await fence.execute()).map((row) => [Number(row.id), row]));
    const held = items
      .filter((i) => rows.get(i.claim.task.id)?.lease_token === i.claim.leaseToken)
      .sort((a, b) => a.claim.task.id - b.claim.task.id);
    if (held.length === 0) return items.map(() => ({ kind: 'lease_lost' }) as const);

    await trx.db
      .updateTable('task_runs')
      .set({
        status: caseById('id', held.map((i) => [i.runId, i.result.status])),
        finished_at: now,
        duration_ms: caseById('id', held.map((i) => [i.runId, i.result.durationMs])),
        output: caseById('id', held.map((i) => [i.runId, i.result.output === undefined ? null : JSON.stringify(i.result.output)])),
        error: caseById('id', held.map((i) => [i.runId, i.result.error])),
      })
      .where('id', 'in', held.map((i) => i.runId))
      .execute();

    const completions = new Map<CompletionRequest, SlotCompletion>();
    const moves: { item: CompletionRequest; move: SlotMove; deadLetterId?: number }[] = [];
    const drafts: NotificationDraft[] = [];
    for (const item of held) {
      const { claim, result } = item;
      const row = rows.get(claim.task.id) as TaskRow;
      if (result.status === 'succeeded') {
        const { effects } = item;
        moves.push({ item, move: { row, lastRunAt: result.startedAt, outcome: 'succeeded', error: null, up: effects?.up } });
        if (effects?.memory !== undefined) await taskMemoryPut(trx, { taskId: claim.task.id, value: effects.memory, now });
        for (const draft of effects?.notifications ?? []) drafts.push({ ...draft, runId: item.runId });
        continue;
      }
      if (result.final === undefined && claim.attempt < Number(row.max_attempts)) {
        const runAfter = new Date(now.getTime() + retryDelay(claim.attempt, params.retry));
        await trx.db
          .updateTable('tasks')
          .set({ ...freeLease, run_after: runAfter, pending_source: 'retry', queued_until: null, last_error: result.error })
          .where('id', '=', claim.task.id)
          .execute();
        completions.set(item, { kind: 'retry', runAfter });
        continue;
      }
      const deadLetterId = await deadLetterInsert(trx, {
        taskId: claim.task.id,
        slot: claim.slot,
        reason: result.final?.reason ?? 'attempts_exhausted',
        error: result.error,
        fields: { task_id: claim.task.id, type: row.type, slot: claim.slot.toISOString(), attempts: claim.attempt },
        now,
      });
      moves.push({ item, move: { row, lastRunAt: result.startedAt, outcome: 'failed', error: result.error }, deadLetterId });
    }
    const nexts = await moveToNextSlots(trx, moves.map((m) => m.move), now);
    moves.forEach(({ item, deadLetterId }, i) => {
      const nextRunAt = nexts[i] as Date;
      completions.set(item, deadLetterId === undefined ? { kind: 'succeeded', nextRunAt } : { kind: 'exhausted', nextRunAt, deadLetterId });
    });
    if (drafts.length > 0) await notificationInsert(trx, { drafts, now });
    return items.map((item) => completions.get(item) ?? ({ kind: 'lease_lost' } as const));
  });
}

const freeLease = { lease_token: null, lease_owner: null, lease_expires_at: null } as const;

/** How a slot ended, for {@link moveToNextSlots}. */
interface SlotMove {
  /** The task row, locked by the caller's transaction with the lease it ends. */
  row: TaskRow;
  lastRunAt: Date;
  outcome: 'succeeded' | 'failed';
  error: string | null;
  up?: boolean | undefined;
}

/**
 * Ends slots with their outcomes and schedules the next ones (missed slots collapse into one; a manual run asked
 * for meanwhile comes first), all in one UPDATE. The caller holds the rows' locks. Returns each next slot, in order.
 */
async function moveToNextSlots(trx: Db, moves: readonly SlotMove[], now: Date): Promise<Date[]> {
  if (moves.length === 0) return [];
  const plans = moves.map((move) => {
    const id = Number(move.row.id);
    const next = nextSlot(scheduleOf(move.row), toDate(move.row.next_run_at), now);
    const manual = toDateOrNull(move.row.manual_run_at);
    const manualWins = manual !== null && manual.getTime() < next.getTime();
    return { id, move, next: manualWins ? manual : next, manualWins };
  });
  const ups = plans.filter((p) => p.move.up !== undefined).map((p) => [p.id, p.move.up ? 1 : 0] as const);
  await trx.db
    .updateTable('tasks')
    .set({
      ...freeLease,
      next_run_at: caseById('id', plans.map((p) => [p.id, p.next])),
      run_after: caseById('id', plans.map((p) => [p.id, p.next])),
      attempts: 0,
      pending_source: caseById('id', plans.map((p) => [p.id, p.manualWins ? 'manual' : null])),
      manual_run_at: null,
      queued_until: null,
      last_run_at: caseById('id', plans.map((p) => [p.id, p.move.lastRunAt])),
      last_status: caseById('id', plans.map((p) => [p.id, p.move.outcome])),
      last_error: caseById('id', plans.map((p) => [p.id, p.move.error])),
      ...(ups.length === 0 ? {} : { up: caseById('id', ups, sql.ref('up')) }),
    })
    .where('id', 'in', plans.map((p) => p.id))
    .execute();
  return plans.map((p) => p.next);
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
      await moveToNextSlots(trx, [{ row, lastRunAt: params.now, outcome: 'failed', error: 'executor lost: lease expired' }], params.now);
      result.exhausted += 1;
    }
    return result;
  });
}
