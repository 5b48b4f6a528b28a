import type { Db } from './database.js';
import { lockAndSet, lockRows, withClaimTransaction } from './locking.js';
import { taskFromRow, toDate } from './mappers.js';
import { dueUnleased } from './slot-claim.js';
import { forwardSlot, slotFloorOf } from './slot-forward.js';
import { withTransaction } from './transaction.js';
import type { RunSource, Task } from './types.js';

/** Publishing marks and "run now": how a due slot gets (and stays) in the queue. */

export interface DueForPublish {
  id: number;
  priority: number;
  slot: Date;
  source: RunSource;
  /** When it fell due; with priority and id, where the next page starts. */
  runAfter: Date;
}

/** A place in the publishing order (priority first, then the time a task fell due, then id). */
export type PublishCursor = Pick<DueForPublish, 'priority' | 'runAfter' | 'id'>;

/**
 * Marks up to `limit` due, free, unqueued tasks as queued (until now + queueMarkMs) and returns them for
 * publishing. The mark is what keeps several publishers, and the API, from publishing one slot twice; if the
 * entry is lost, the mark expires and the task is published again.
 */
export async function slotMarkQueued(
  conn: Db,
  params: {
    now: Date;
    limit: number;
    queueMarkMs: number;
    /**
     * Where the previous page of the same pass ended: this page starts after it, so that a pass over many due
     * tasks reads each index entry once instead of walking again past every task it has already marked.
     */
    after?: PublishCursor | undefined;
  },
): Promise<DueForPublish[]> {
  const { after } = params;
  return withClaimTransaction(conn, async (trx) => {
    const query = trx.db
      .selectFrom('tasks')
      .select(['id', 'priority', 'next_run_at', 'run_after', 'pending_source'])
      .where((eb) => dueUnleased(eb, params.now))
      .where((eb) => eb.or([eb('queued_until', 'is', null), eb('queued_until', '<=', params.now)]))
      .$if(after !== undefined, (qb) =>
        qb.where((eb) => {
          const { priority, runAfter, id } = after as PublishCursor;
          return eb.or([
            eb('priority', '<', priority),
            eb.and([
              eb('priority', '=', priority),
              eb.or([eb('run_after', '>', runAfter), eb.and([eb('run_after', '=', runAfter), eb('id', '>', id)])]),
            ]),
          ]);
        }),
      )
      .orderBy('priority', 'desc')
      .orderBy('run_after', 'asc')
      .orderBy('id', 'asc')
      .limit(params.limit);
    const rows = await lockAndSet(trx, 'tasks', query, { queued_until: new Date(params.now.getTime() + params.queueMarkMs) });
    return rows.map((r) => ({
      id: Number(r.id),
      priority: Number(r.priority),
      slot: toDate(r.next_run_at),
      source: r.pending_source ?? 'periodic',
      runAfter: toDate(r.run_after),
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
  const [row] = await lockRows(trx, trx.db.selectFrom('tasks').selectAll().where('id', '=', params.id), 'wait');
  if (row === undefined) return undefined;
  if (row.status !== 'running') return taskFromRow(row);
  // A running slot keeps its place; a slot waiting for a retry keeps its slot and attempts (run now only brings
  // the retry forward); a free task gets a new slot now, after every slot it already had (the caller's clock may
  // be behind the one that claimed the last slot: see `slot-forward.ts`).
  const slot = forwardSlot(params.now, slotFloorOf(row));
  const update =
    row.lease_token !== null
      ? { manual_run_at: params.now }
      : Number(row.attempts) > 0
        ? { run_after: params.now, pending_source: 'manual' as const, queued_until: params.queuedUntil }
        : {
            next_run_at: slot,
            run_after: slot,
            attempts: 0,
            pending_source: 'manual' as const,
            queued_until: params.queuedUntil,
            manual_run_at: null,
          };
  await trx.db.updateTable('tasks').set(update).where('id', '=', params.id).execute();
  const updated = await trx.db.selectFrom('tasks').selectAll().where('id', '=', params.id).executeTakeFirstOrThrow();
  return taskFromRow(updated);
}

/**
 * When the next free slot falls due, if that is after `after` and no later than `until`; undefined otherwise. One
 * index dive per priority, so a scheduler can sleep until then instead of a whole tick.
 */
export async function slotNextDue(conn: Db, params: { after: Date; until: Date }): Promise<Date | undefined> {
  const perPriority = [1, 2, 3, 4, 5].map((priority) =>
    conn.db
      .selectFrom('tasks')
      .select((eb) => eb.fn.min('run_after').as('due'))
      .where('status', '=', 'running')
      .where('priority', '=', priority)
      .where('run_after', '>', params.after)
      .where('run_after', '<=', params.until),
  );
  const [first, ...rest] = perPriority;
  const rows = await rest.reduce((union, query) => union.unionAll(query), first as NonNullable<typeof first>).execute();
  const times = rows.flatMap((r) => (r.due === null ? [] : [toDate(r.due).getTime()]));
  return times.length === 0 ? undefined : new Date(Math.min(...times));
}
