import { randomUUID } from 'node:crypto';
import type { Db } from './database.js';
import { pageOf, parseJson, toDate, toDateOrNull } from './mappers.js';
import { lockAndSet, withClaimTransaction } from './locking.js';
import { DEFAULT_MAX_OUTPUT_BYTES, capJsonValue, capText } from './output-cap.js';
import { withTransaction } from './transaction.js';
import type { JsonObject, Notification, Page } from './types.js';

/**
 * The notification outbox. Notifications are inserted in the transaction that records the run which caused them, and
 * delivered afterwards by the notifier, which claims them with a short lease so that several processes can
 * deliver at once without sending one twice at the same moment.
 */

export interface NotificationDraft {
  taskId: number;
  runId: number | null;
  /** The channel it goes to; null for the task's own `webhook_url`. */
  channelId: number | null;
  event: string;
  /** The task's `webhook_url`; empty for a channel (whose address is in its config, a secret). */
  url: string;
  body: JsonObject;
}

/**
 * Queues notifications. Each body is capped at `maxBodyBytes` of JSON (APP_MAX_OUTPUT_BYTES; default 256 KiB) like a
 * run's output, which it usually copies: a larger one keeps its small fields and says what was cut.
 */
export async function notificationInsert(
  conn: Db,
  params: { drafts: readonly NotificationDraft[]; now: Date; maxBodyBytes?: number },
): Promise<void> {
  if (params.drafts.length === 0) return;
  const maxBodyBytes = params.maxBodyBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  await conn.db
    .insertInto('notifications')
    .values(
      params.drafts.map((d) => ({
        task_id: d.taskId,
        run_id: d.runId,
        channel_id: d.channelId,
        event: d.event,
        url: d.url,
        body: JSON.stringify(capJsonValue(d.body, maxBodyBytes)),
        status: 'pending' as const,
        attempts: 0,
        next_attempt_at: params.now,
        created_at: params.now,
      })),
    )
    .execute();
}

/** A notification claimed for delivery, with the channel it goes to as it is now. */
export interface ClaimedNotification {
  id: number;
  taskId: number;
  /** The task's `webhook_url` for a notification without a channel. */
  url: string;
  body: string;
  /** The attempt this delivery is (1 for the first). */
  attempt: number;
  /** The delivery lease's token: the attempt is recorded only while it still holds the notification. */
  leaseToken: string;
  channelId: number | null;
  /** The channel, secrets included; null when there is none, or when it was deleted since. */
  channel: { id: number; name: string; kind: string; config: JsonObject } | null;
}

/**
 * Claims up to `limit` due notifications for `leaseMs`. Like the run claims, it scans with SKIP LOCKED at READ
 * COMMITTED, so that it locks only the rows it takes and no gaps (see `withClaimTransaction`).
 */
export async function notificationClaimDue(
  conn: Db,
  params: { now: Date; limit: number; leaseMs: number },
): Promise<ClaimedNotification[]> {
  return withClaimTransaction(conn, async (trx) => {
    const query = trx.db
      .selectFrom('notifications')
      .select(['id', 'task_id', 'url', 'body', 'attempts', 'channel_id'])
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', params.now)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', params.now)]))
      .orderBy('next_attempt_at', 'asc')
      .limit(params.limit);
    const leaseToken = randomUUID();
    const rows = await lockAndSet(trx, 'notifications', query, {
      lease_until: new Date(params.now.getTime() + params.leaseMs),
      lease_token: leaseToken,
    });
    // Channels are read without locking them (a join would lock them too, and make other notifiers skip every
    // notification of a busy channel); a channel changed meanwhile is simply read as it is now.
    const channels = await channelsById(
      trx,
      rows.flatMap((r) => (r.channel_id === null ? [] : [Number(r.channel_id)])),
    );
    return rows.map((r) => ({
      id: Number(r.id),
      taskId: Number(r.task_id),
      url: r.url,
      body: r.body,
      attempt: Number(r.attempts) + 1,
      leaseToken,
      channelId: r.channel_id === null ? null : Number(r.channel_id),
      channel: r.channel_id === null ? null : (channels.get(Number(r.channel_id)) ?? null),
    }));
  });
}

/**
 * Records one delivery attempt and moves the notification on: delivered, retried at `retryAt`, or failed. Fenced by
 * the delivery lease, as a run's outcome is: when the lease has passed to another process (this record came after
 * it expired and the notification was claimed again), nothing is written and false is returned, so that the same
 * attempt is never recorded twice nor overwrites what the newer delivery found.
 */
export async function notificationRecordAttempt(
  conn: Db,
  params: {
    notification: ClaimedNotification;
    ok: boolean;
    statusCode: number | null;
    error: string | null;
    durationMs: number;
    now: Date;
    /** When to try again; null when the attempts are used up. */
    retryAt: Date | null;
  },
): Promise<boolean> {
  const { notification: n, now } = params;
  return withTransaction(conn, async (trx) => {
    const moved = await trx.db
      .updateTable('notifications')
      .set({
        attempts: n.attempt,
        lease_until: null,
        lease_token: null,
        last_error: params.ok ? null : capText(params.error),
        ...(params.ok
          ? { status: 'delivered' as const, delivered_at: now }
          : params.retryAt === null
            ? { status: 'failed' as const }
            : { next_attempt_at: params.retryAt }),
      })
      .where('id', '=', n.id)
      .where('lease_token', '=', n.leaseToken)
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) === 0) return false;
    await trx.db
      .insertInto('notification_attempts')
      .values({
        notification_id: n.id,
        attempt: n.attempt,
        status_code: params.statusCode,
        error: capText(params.error),
        duration_ms: Math.round(params.durationMs),
        created_at: now,
      })
      .execute();
    return true;
  });
}

/**
 * Gives a claimed notification back without an attempt, due again at `until` (a delivery held back by its host's
 * limits). Returns whether it was still pending.
 */
export async function notificationPostpone(conn: Db, params: { id: number; until: Date }): Promise<boolean> {
  const result = await conn.db
    .updateTable('notifications')
    .set({ lease_until: null, next_attempt_at: params.until })
    .where('id', '=', params.id)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** A task's notifications with every delivery attempt, newest first. */
export async function notificationListByTask(
  conn: Db,
  params: { taskId: number; limit: number; cursor?: string | undefined },
): Promise<Page<Notification>> {
  const query = conn.db.selectFrom('notifications').selectAll().where('task_id', '=', params.taskId);
  const page = await pageOf(query, { ...params, order: 'desc' }, (row) => ({ ...row, id: Number(row.id) }));
  const ids = page.items.map((row) => row.id);
  const channels = await channelsById(
    conn,
    page.items.flatMap((row) => (row.channel_id === null ? [] : [Number(row.channel_id)])),
  );
  const attempts =
    ids.length === 0
      ? []
      : await conn.db.selectFrom('notification_attempts').selectAll().where('notification_id', 'in', ids).orderBy('attempt', 'asc').execute();
  const items = page.items.map((row): Notification => ({
    id: Number(row.id),
    taskId: Number(row.task_id),
    runId: row.run_id === null ? null : Number(row.run_id),
    channel:
      row.channel_id === null
        ? null
        : {
            id: Number(row.channel_id),
            name: channels.get(Number(row.channel_id))?.name ?? null,
            kind: channels.get(Number(row.channel_id))?.kind ?? null,
          },
    event: row.event,
    url: row.url,
    body: parseJson<JsonObject>(row.body) ?? {},
    status: row.status,
    attempts: attempts
      .filter((a) => Number(a.notification_id) === Number(row.id))
      .map((a) => ({
        attempt: Number(a.attempt),
        statusCode: a.status_code === null ? null : Number(a.status_code),
        error: a.error,
        durationMs: Number(a.duration_ms),
        createdAt: toDate(a.created_at),
      })),
    nextAttemptAt: toDate(row.next_attempt_at),
    lastError: row.last_error,
    createdAt: toDate(row.created_at),
    deliveredAt: toDateOrNull(row.delivered_at),
  }));
  return { items, nextCursor: page.nextCursor };
}


/** The channels of these ids that still exist, secrets included (the caller decides what to show). */
async function channelsById(conn: Db, ids: readonly number[]): Promise<Map<number, { id: number; name: string; kind: string; config: JsonObject }>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const rows = await conn.db.selectFrom('channels').selectAll().where('id', 'in', unique).execute();
  return new Map(rows.map((c) => [Number(c.id), { id: Number(c.id), name: c.name, kind: c.kind, config: parseJson<JsonObject>(c.config) ?? {} }]));
}
