import type { Db } from './database.js';

/**
 * Gives a claimed slot back before its attempt started, as if it had not been claimed (the attempt is not used),
 * due again at `runAfter`: a run held back by its host's limits waits this way outside the worker pool, and a slot
 * its catch-up policy moves (`nextRunAt`: a later missed slot, or the next future one) is put back at that slot.
 * Fenced by the lease. Returns whether the slot was still held.
 */
export async function slotPutBack(
  conn: Db,
  params: { taskId: number; leaseToken: string; runAfter: Date; nextRunAt?: Date | undefined },
): Promise<boolean> {
  const result = await conn.db
    .updateTable('tasks')
    .set((eb) => ({
      lease_token: null,
      lease_owner: null,
      lease_expires_at: null,
      attempts: eb('attempts', '-', 1),
      queued_until: null,
      run_after: params.runAfter,
      ...(params.nextRunAt === undefined ? {} : { next_run_at: params.nextRunAt }),
    }))
    .where('id', '=', params.taskId)
    .where('lease_token', '=', params.leaseToken)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
