import type { Db } from './database.js';
import { pageOf, parseJson, toDate } from './mappers.js';
import type { Updateable } from 'kysely';
import type { Channel, ChannelsTable, JsonObject, Page } from './types.js';

/**
 * Notification channels. A channel's config is kept as JSON with its secrets; masking them is the API's job, and
 * checking a config against its kind's schema happens before it gets here. Names are unique
 * (StoreError('conflict') on a duplicate).
 */

function channelFromRow(row: { id: number; name: string; kind: string; config: string; created_at: Date | string; updated_at: Date | string }): Channel {
  return {
    id: Number(row.id),
    name: row.name,
    kind: row.kind,
    config: parseJson<JsonObject>(row.config) ?? {},
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

export async function channelInsert(conn: Db, params: { name: string; kind: string; config: JsonObject; now: Date }): Promise<Channel> {
  const result = await conn.db
    .insertInto('channels')
    .values({ name: params.name, kind: params.kind, config: JSON.stringify(params.config), created_at: params.now, updated_at: params.now })
    .executeTakeFirstOrThrow();
  return { id: Number(result.insertId), name: params.name, kind: params.kind, config: params.config, createdAt: params.now, updatedAt: params.now };
}

export async function channelGetById(conn: Db, id: number): Promise<Channel | undefined> {
  const row = await conn.db.selectFrom('channels').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? undefined : channelFromRow(row);
}

/** Channels in id order, one page at a time. */
export async function channelList(conn: Db, params: { limit: number; cursor?: string | undefined; kind?: string | undefined }): Promise<Page<Channel>> {
  let query = conn.db.selectFrom('channels').selectAll();
  if (params.kind !== undefined) query = query.where('kind', '=', params.kind);
  return pageOf(query, { limit: params.limit, cursor: params.cursor, order: 'asc' }, channelFromRow);
}

/** Changes a channel's name and/or config; returns it, or undefined when it does not exist. */
export async function channelUpdate(
  conn: Db,
  params: { id: number; name?: string | undefined; config?: JsonObject | undefined; now: Date },
): Promise<Channel | undefined> {
  const set: Updateable<ChannelsTable> = { updated_at: params.now };
  if (params.name !== undefined) set.name = params.name;
  if (params.config !== undefined) set.config = JSON.stringify(params.config);
  await conn.db.updateTable('channels').set(set).where('id', '=', params.id).execute();
  return channelGetById(conn, params.id);
}

/** Deletes a channel; returns whether it existed. Callers check {@link channelUsers} first. */
export async function channelDelete(conn: Db, id: number): Promise<boolean> {
  const result = await conn.db.deleteFrom('channels').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Which of `ids` name an existing channel. */
export async function channelIdsExisting(conn: Db, ids: readonly number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const rows = await conn.db.selectFrom('channels').select('id').where('id', 'in', [...ids]).execute();
  return new Set(rows.map((r) => Number(r.id)));
}

/**
 * The ids of the tasks whose `notify.channels` lists the channel, in id order. Reads only tasks whose notify
 * mentions channels at all; deleting a channel is rare, so a scan of those is cheaper than keeping an index table
 * in step with every task change.
 */
export async function channelUsers(conn: Db, channelId: number): Promise<number[]> {
  const rows = await conn.db
    .selectFrom('tasks')
    .select(['id', 'notify'])
    .where('notify', 'like', '%"channels"%')
    .orderBy('id')
    .execute();
  return rows
    .filter((row) => {
      const channels = parseJson<JsonObject>(row.notify)?.channels;
      return Array.isArray(channels) && channels.includes(channelId);
    })
    .map((row) => Number(row.id));
}
