import type { Db } from './database.js';
import { deadLetterInsert } from './dead-letter-repo.js';
import { lockRows, withClaimTransaction } from './locking.js';
import { taskFromRow } from './mappers.js';
import { freeLease, moveToNextSlots } from './slot-complete.js';

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
    const expired = trx.db
      .selectFrom('tasks')
      .selectAll()
      .where('lease_token', 'is not', null)
      .where('lease_expires_at', '<', params.now)
      .limit(params.limit);
    const rows = await lockRows(trx, expired, 'skip-locked');
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
