import { sql } from 'kysely';
import { type AlertState, type AlertStep, alertDraftsOf, alertPolicyOf, alertStateOf, alertStep, notifyOf, withAlertSummary } from './alert-state.js';
import type { Db } from './database.js';
import { deadLetterInsert } from './dead-letter-repo.js';
import { lockRows } from './locking.js';
import { scheduleOf, toDate, toDateOrNull } from './mappers.js';
import { taskMemoryPut } from './memory-repo.js';
import { type NotificationDraft, notificationInsert } from './notification-repo.js';
import type { ClaimedSlot } from './slot-claim.js';
import { DEFAULT_MAX_OUTPUT_BYTES, capJsonValue, capText } from './output-cap.js';
import { forwardSlot, slotFloorOf } from './slot-forward.js';
import { nextSlot } from './slots.js';
import { caseById } from './sql-case.js';
import { withTransaction } from './transaction.js';
import type { JsonObject, RunStatus, TaskRow } from './types.js';

/** How an attempt ends: its run row, its slot's next state, and what a successful one leaves behind. */

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
  /** What this one check saw; the task's confirmed state follows it through the alert thresholds. */
  up?: boolean | undefined;
  /**
   * The handler's events. Those the task's `notify.on` lists are queued for its webhook and channels (the outbox);
   * `down` and `up` come from the confirmed state instead whenever `up` is set (see `alert-state.ts`).
   */
  events?: readonly string[] | undefined;
}

export type SlotCompletion =
  | { kind: 'succeeded'; nextRunAt: Date }
  | { kind: 'retry'; runAfter: Date }
  | { kind: 'exhausted'; nextRunAt: Date; deadLetterId: number }
  | { kind: 'lease_lost' };

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
 * (`lease_lost`); and by the run row, which must still be its attempt's open row. The common case, a success,
 * costs no statement of its own: all run rows are written (and fenced) by one UPDATE, and all next slots by
 * another. Returns one completion per item, in order.
 */
export async function slotCompleteMany(
  conn: Db,
  params: {
    items: readonly CompletionRequest[];
    now: Date;
    /** How long the slot of a failed attempt waits before its next attempt (the scheduler's retry policy). */
    retryDelayMs: (attempt: number) => number;
    /**
     * Cap on each run's output as JSON (APP_MAX_OUTPUT_BYTES), and on each notification body; a larger one is
     * cut and flagged (`output_truncated`, see `capJsonValue`). Default 256 KiB.
     */
    maxOutputBytes?: number;
  },
): Promise<SlotCompletion[]> {
  const maxOutputBytes = params.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  // Bounded before any SQL is built: an output (and an error text) can never make a statement the database refuses.
  const items = params.items.map((item) => ({
    ...item,
    result: { ...item.result, output: capJsonValue(item.result.output, maxOutputBytes), error: capText(item.result.error) },
  }));
  if (items.length === 0) return [];
  try {
    return await completeInTransaction(conn, items, params, 'optimistic');
  } catch (err) {
    if (!(err instanceof RunRowsMoved)) throw err;
    return completeInTransaction(conn, items, params, 'locked');
  }
}

/**
 * An optimistic batch found a run row that was no longer its attempt's open row: its transaction is rolled back and
 * the batch is written again, each run row locked and checked first.
 */
class RunRowsMoved extends Error {}

/**
 * One try of {@link slotCompleteMany}. The run rows are fenced either by the UPDATE that finishes them
 * (`optimistic`: it changes only rows still `running` under their claim's (task, slot, attempt), and any shortfall
 * rolls the whole batch back as {@link RunRowsMoved}), or by locking and checking them first (`locked`), which
 * tells which items lost their run and records the others.
 */
async function completeInTransaction(
  conn: Db,
  items: readonly CompletionRequest[],
  params: { now: Date; retryDelayMs: (attempt: number) => number; maxOutputBytes?: number },
  fence: 'optimistic' | 'locked',
): Promise<SlotCompletion[]> {
  const { now } = params;
  const maxOutputBytes = params.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  // The default isolation, as for any transaction that locks its rows by primary key. The task rows are locked in
  // id order, and the per-item writes below follow the same order, so that two batches cannot deadlock each other.
  return withTransaction(conn, async (trx) => {
    const ids = [...new Set(items.map((i) => i.claim.task.id))].sort((a, b) => a - b);
    const taskFence = trx.db.selectFrom('tasks').selectAll().where('id', 'in', ids).orderBy('id');
    const rows = new Map((await lockRows(trx, taskFence, 'wait')).map((row) => [Number(row.id), row]));
    const leased = items.filter((i) => rows.get(i.claim.task.id)?.lease_token === i.claim.leaseToken);
    // A finished run is never written again: an outcome is recorded only onto its own attempt's run row while that
    // row is still `running`. The lease alone is not proof: the row could belong to the same (task, slot, attempt)
    // from before a slot was brought back.
    const held = (fence === 'optimistic' ? leased : await openRunsOf(trx, leased)).sort((a, b) => a.claim.task.id - b.claim.task.id);
    if (held.length === 0) return items.map(() => ({ kind: 'lease_lost' }) as const);

    // Alert state moves first, so that each run's output says what its result did to it (`output.alert`).
    const alerts = new Map<CompletionRequest, AlertStep>();
    for (const item of held) {
      const effects = item.effects;
      if (item.result.status !== 'succeeded' || effects === undefined) continue;
      if (effects.up === undefined && (effects.events ?? []).length === 0) continue;
      const row = rows.get(item.claim.task.id) as TaskRow;
      alerts.set(item, alertStep({ state: alertStateOf(row), policy: alertPolicyOf(notifyOf(row)), up: effects.up, events: effects.events ?? [], now }));
    }
    const outputOf = (item: CompletionRequest): unknown => withAlertSummary(item.result.output, alerts.get(item));

    const finished = await trx.db
      .updateTable('task_runs')
      .set({
        status: caseById('id', held.map((i) => [i.runId, i.result.status])),
        finished_at: now,
        duration_ms: caseById('id', held.map((i) => [i.runId, i.result.durationMs])),
        output: caseById('id', held.map((i) => {
          const output = outputOf(i);
          return [i.runId, output === undefined ? null : JSON.stringify(output)];
        })),
        error: caseById('id', held.map((i) => [i.runId, i.result.error])),
      })
      .where('id', 'in', held.map((i) => i.runId))
      .where('status', '=', 'running')
      // Each row must still be its claim's attempt; per-row values (CASE) rather than a list of alternatives, which
      // the optimizer would analyse as that many index ranges.
      .where('task_id', '=', caseById('id', held.map((i) => [i.runId, i.claim.task.id])))
      .where('slot', '=', caseById('id', held.map((i) => [i.runId, i.claim.slot])))
      .where('attempt', '=', caseById('id', held.map((i) => [i.runId, i.claim.attempt])))
      .executeTakeFirst();
    if (Number(finished.numUpdatedRows) !== held.length) {
      if (fence === 'optimistic') throw new RunRowsMoved();
      throw new Error(`run rows changed under their locks: ${finished.numUpdatedRows} of ${held.length} finished`);
    }

    const completions = new Map<CompletionRequest, SlotCompletion>();
    const moves: { item: CompletionRequest; move: SlotMove; deadLetterId?: number }[] = [];
    const drafts: NotificationDraft[] = [];
    for (const item of held) {
      const { claim, result } = item;
      const row = rows.get(claim.task.id) as TaskRow;
      if (result.status === 'succeeded') {
        const { effects } = item;
        const alert = alerts.get(item);
        moves.push({
          item,
          move: {
            row,
            lastRunAt: result.startedAt,
            outcome: 'succeeded',
            error: null,
            ...(alert === undefined || effects?.up === undefined ? {} : { alert: alert.state }),
          },
        });
        if (effects?.memory !== undefined) await taskMemoryPut(trx, { taskId: claim.task.id, value: effects.memory, now });
        if (alert !== undefined) drafts.push(...alertDraftsOf(row, item.runId, alert, outputOf(item), now));
        continue;
      }
      if (result.final === undefined && claim.attempt < Number(row.max_attempts)) {
        const runAfter = new Date(now.getTime() + params.retryDelayMs(claim.attempt));
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
    if (drafts.length > 0) await notificationInsert(trx, { drafts, now, maxBodyBytes: maxOutputBytes });
    return items.map((item) => completions.get(item) ?? ({ kind: 'lease_lost' } as const));
  });
}

/** The items whose run row is still their attempt's open row, with those rows locked. */
async function openRunsOf(trx: Db, leased: readonly CompletionRequest[]): Promise<CompletionRequest[]> {
  if (leased.length === 0) return [];
  const open = await lockRows(
    trx,
    trx.db.selectFrom('task_runs').select(['id', 'task_id', 'slot', 'attempt']).where('id', 'in', leased.map((i) => i.runId)).where('status', '=', 'running').orderBy('id'),
    'wait',
  );
  const openRuns = new Map(open.map((r) => [Number(r.id), r]));
  return leased.filter((i) => {
    const run = openRuns.get(i.runId);
    return (
      run !== undefined &&
      Number(run.task_id) === i.claim.task.id &&
      toDate(run.slot).getTime() === i.claim.slot.getTime() &&
      Number(run.attempt) === i.claim.attempt
    );
  });
}

/** The columns that end a lease. */
export const freeLease = { lease_token: null, lease_owner: null, lease_expires_at: null } as const;

/** How a slot ended, for {@link moveToNextSlots}. */
export interface SlotMove {
  /** The task row, locked by the caller's transaction with the lease it ends. */
  row: TaskRow;
  lastRunAt: Date;
  outcome: 'succeeded' | 'failed';
  error: string | null;
  /** The alert state after a result that reported `up` (its `up` is the task's confirmed state). */
  alert?: AlertState | undefined;
}

/**
 * Ends slots with their outcomes and schedules the next ones (missed slots collapse into one; a manual run asked
 * for meanwhile comes first), all in one UPDATE. The caller holds the rows' locks. Returns each next slot, in order.
 */
export async function moveToNextSlots(trx: Db, moves: readonly SlotMove[], now: Date): Promise<Date[]> {
  if (moves.length === 0) return [];
  const plans = moves.map((move) => {
    const id = Number(move.row.id);
    const floor = slotFloorOf(move.row);
    const next = forwardSlot(nextSlot(scheduleOf(move.row), toDate(move.row.next_run_at), now, id), floor);
    // A "run now" recorded while the slot ran, by a clock behind the one that claimed the slot, may lie before it:
    // it still runs next, right after the slot that just ended, never as a slot that already ran.
    const recorded = toDateOrNull(move.row.manual_run_at);
    const manual = recorded === null ? null : forwardSlot(recorded, floor);
    const manualWins = manual !== null && manual.getTime() < next.getTime();
    return { id, move, next: manualWins ? manual : next, manualWins };
  });
  const alerts = plans.flatMap((p) => (p.move.alert === undefined ? [] : [{ id: p.id, alert: p.move.alert }]));
  const ups = alerts.flatMap(({ id, alert }) => (alert.up === null ? [] : [[id, alert.up ? 1 : 0] as const]));
  const alertColumns =
    alerts.length === 0
      ? {}
      : {
          alert_last_up: caseById('id', alerts.map(({ id, alert }) => [id, alert.lastUp === null ? null : alert.lastUp ? 1 : 0]), sql.ref('alert_last_up')),
          alert_streak: caseById('id', alerts.map(({ id, alert }) => [id, alert.streak]), sql.ref('alert_streak')),
          alert_down_since: caseById('id', alerts.map(({ id, alert }) => [id, alert.downSince]), sql.ref('alert_down_since')),
          alert_reminded_at: caseById('id', alerts.map(({ id, alert }) => [id, alert.remindedAt]), sql.ref('alert_reminded_at')),
          alert_reminders: caseById('id', alerts.map(({ id, alert }) => [id, alert.reminders]), sql.ref('alert_reminders')),
        };
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
      ...alertColumns,
    })
    .where('id', 'in', plans.map((p) => p.id))
    .execute();
  return plans.map((p) => p.next);
}

