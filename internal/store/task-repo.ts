import { sql } from 'kysely';
import { hasConsecutiveIds } from './auto-increment.js';
import type { Db } from './database.js';
import { lockRows } from './locking.js';
import { forwardSlot, slotFloorOf } from './slot-forward.js';
import { inTransaction, withTransaction } from './transaction.js';
import { pageOf, scheduleColumns, taskFromRow } from './mappers.js';
import type { JsonObject, Page, Schedule, Task, TaskDefinition, TaskRowUpdate, TaskStatus } from './types.js';

export interface TaskInsertParams extends Omit<TaskDefinition, 'key'> {
  /** The owner's stable name; a key another task has raises StoreError('conflict'). Default none. */
  key?: string | null | undefined;
  /** Nothing is sent before this time. */
  silencedUntil?: Date | null | undefined;
  /** The first slot. */
  nextRunAt: Date;
  /** Set when the caller is about to publish the task, so that the periodic publisher does not publish it too. */
  queuedUntil: Date | null;
  idempotencyKey: string | null;
  requestHash: string | null;
  now: Date;
}

/** Inserts a task; a duplicate idempotency key or task key raises StoreError('conflict'). */
export async function taskInsert(conn: Db, params: TaskInsertParams): Promise<Task> {
  const result = await conn.db.insertInto('tasks').values(taskRowOf(params)).executeTakeFirstOrThrow();
  return insertedTask(params, Number(result.insertId));
}

/**
 * Inserts tasks together and returns them in order. On MySQL, when the server hands out the ids of one
 * multi-row INSERT as a consecutive run (innodb_autoinc_lock_mode 0 or 1, MariaDB's and MySQL 5.7's default, with
 * an increment of 1), that is one statement; otherwise, and on SQLite, the rows are inserted one by one in one
 * transaction. All or none: a duplicate idempotency key among them raises StoreError('conflict') for the lot.
 */
export async function taskInsertMany(conn: Db, params: readonly TaskInsertParams[]): Promise<Task[]> {
  if (params.length === 0) return [];
  if (params.length > 1 && conn.dialect === 'mysql' && (await hasConsecutiveIds(conn))) {
    const result = await conn.db.insertInto('tasks').values(params.map(taskRowOf)).executeTakeFirstOrThrow();
    // For a multi-row INSERT, the insert id is that of the first row.
    const first = Number(result.insertId);
    return params.map((p, i) => insertedTask(p, first + i));
  }
  if (params.length === 1) return [await taskInsert(conn, params[0] as TaskInsertParams)];
  return withTransaction(conn, async (trx) => {
    const tasks: Task[] = [];
    for (const p of params) tasks.push(await taskInsert(trx, p));
    return tasks;
  });
}

function taskRowOf(params: TaskInsertParams) {
  return {
    name: params.name,
    key: params.key ?? null,
    type: params.type,
    payload: JSON.stringify(params.payload),
    ...scheduleColumns(params.schedule),
    priority: params.priority,
    timeout_ms: params.timeoutMs,
    max_attempts: params.maxAttempts,
    status: params.status,
    notify: params.notify === null ? null : JSON.stringify(params.notify),
    ...(params.silencedUntil === undefined || params.silencedUntil === null ? {} : { silenced_until: params.silencedUntil }),
    next_run_at: params.nextRunAt,
    run_after: params.nextRunAt,
    attempts: 0,
    queued_until: params.queuedUntil,
    idempotency_key: params.idempotencyKey,
    request_hash: params.requestHash,
    created_at: params.now,
    updated_at: params.now,
  };
}

function insertedTask(params: TaskInsertParams, id: number): Task {
  return {
    id,
    name: params.name,
    key: params.key ?? null,
    type: params.type,
    payload: params.payload,
    schedule: params.schedule,
    priority: params.priority,
    timeoutMs: params.timeoutMs,
    maxAttempts: params.maxAttempts,
    status: params.status,
    notify: params.notify,
    nextRunAt: params.nextRunAt,
    runAfter: params.nextRunAt,
    attempts: 0,
    pendingSource: null,
    leaseToken: null,
    lastRunAt: null,
    lastStatus: null,
    lastError: null,
    up: null,
    silencedUntil: params.silencedUntil ?? null,
    createdAt: params.now,
    updatedAt: params.now,
  };
}

export async function taskGetById(conn: Db, id: number): Promise<Task | undefined> {
  const row = await conn.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst();
  return row === undefined ? undefined : taskFromRow(row);
}

/** The task with this key, if any. */
export async function taskGetByKey(conn: Db, key: string): Promise<Task | undefined> {
  const row = await conn.db.selectFrom('tasks').selectAll().where('key', '=', key).executeTakeFirst();
  return row === undefined ? undefined : taskFromRow(row);
}

/** The task created with an idempotency key, with the hash of the request that created it. */
export async function taskGetByIdempotencyKey(
  conn: Db,
  key: string,
): Promise<{ task: Task; requestHash: string | null } | undefined> {
  const row = await conn.db.selectFrom('tasks').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
  return row === undefined ? undefined : { task: taskFromRow(row), requestHash: row.request_hash };
}

export interface TaskListParams {
  status?: TaskStatus | undefined;
  type?: string | undefined;
  /** Only the task with this key (a page of at most one). */
  key?: string | undefined;
  /** Only tasks whose check last reported up (true) or down (false); tasks that never reported match neither. */
  up?: boolean | undefined;
  /** Only tasks whose name contains this text (case-insensitive for ASCII on both dialects). */
  nameContains?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** Tasks in id order, filtered, one page at a time. An unknown cursor starts from the beginning. */
export async function taskList(conn: Db, params: TaskListParams): Promise<Page<Task>> {
  const search = params.nameContains === undefined || params.nameContains === '' ? undefined : params.nameContains;
  const query = conn.db
    .selectFrom('tasks')
    .selectAll()
    .$if(params.status !== undefined, (qb) => qb.where('status', '=', params.status as TaskStatus))
    .$if(params.type !== undefined, (qb) => qb.where('type', '=', params.type as string))
    .$if(params.key !== undefined, (qb) => qb.where('key', '=', params.key as string))
    .$if(params.up !== undefined, (qb) => qb.where('up', '=', params.up ? 1 : 0))
    .$if(search !== undefined, (qb) => qb.where(nameContains(search as string)));
  return pageOf(query, { ...params, order: 'asc' }, taskFromRow);
}

/**
 * `name` contains the text. `%`, `_` and the escape character itself are literal in a search, not wildcards. Both
 * sides are lowered, because the column's collation (binary on MySQL) would otherwise decide whether case matters.
 */
function nameContains(text: string) {
  const pattern = `%${text.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
  return sql<boolean>`LOWER(${sql.ref('name')}) LIKE ${pattern} ESCAPE '!'`;
}

export interface TaskUpdateParams {
  id: number;
  changes: {
    name?: string | undefined;
    /** A new key, or null to remove it; a key another task has raises StoreError('conflict'). */
    key?: string | null | undefined;
    type?: string | undefined;
    payload?: JsonObject | undefined;
    schedule?: Schedule | undefined;
    priority?: number | undefined;
    timeoutMs?: number | undefined;
    maxAttempts?: number | undefined;
    status?: TaskStatus | undefined;
    notify?: JsonObject | null | undefined;
    silencedUntil?: Date | null | undefined;
  };
  /**
   * The next slot under a changed schedule. Applied only when no slot is in progress (running, or waiting for a
   * retry); such a slot keeps its place, and its end computes the next slot from the new schedule.
   */
  nextRunAt?: Date | undefined;
  now: Date;
}

/** Applies a partial change; returns the updated task, or undefined when it does not exist. */
export async function taskUpdate(conn: Db, params: TaskUpdateParams): Promise<Task | undefined> {
  const { changes } = params;
  const set: TaskRowUpdate = { updated_at: params.now };
  if (changes.name !== undefined) set.name = changes.name;
  if (changes.key !== undefined) set.key = changes.key;
  if (changes.type !== undefined) set.type = changes.type;
  if (changes.payload !== undefined) set.payload = JSON.stringify(changes.payload);
  if (changes.schedule !== undefined) Object.assign(set, scheduleColumns(changes.schedule));
  if (changes.priority !== undefined) set.priority = changes.priority;
  if (changes.timeoutMs !== undefined) set.timeout_ms = changes.timeoutMs;
  if (changes.maxAttempts !== undefined) set.max_attempts = changes.maxAttempts;
  if (changes.status !== undefined) set.status = changes.status;
  if (changes.notify !== undefined) set.notify = changes.notify === null ? null : JSON.stringify(changes.notify);
  if (changes.silencedUntil !== undefined) set.silenced_until = changes.silencedUntil;

  // A new slot lands after every slot the task already had (see `slot-forward.ts`): the floor is read under the
  // row's lock, which a claim needs too, so no claim can slip in between the read and the write.
  await inTransaction(conn, async (trx) => {
    let floor: Date | null = null;
    if (params.nextRunAt !== undefined) {
      const [row] = await lockRows(trx, trx.db.selectFrom('tasks').select('last_slot').where('id', '=', params.id), 'wait');
      floor = row === undefined ? null : slotFloorOf(row);
    }
    await trx.db
      .updateTable('tasks')
      .set(set)
      .$if(params.nextRunAt !== undefined, (qb) =>
        qb.set((eb) => {
          // Only a slot nobody is working on moves: not one that is running, nor one waiting for a retry, which
          // must still reach its outcome. Those keep their slot, and its end computes the next from the new schedule.
          const free = eb.and([eb('lease_token', 'is', null), eb('attempts', '=', 0)]);
          const next = forwardSlot(params.nextRunAt as Date, floor);
          return {
            next_run_at: eb.case().when(free).then(next).else(eb.ref('next_run_at')).end(),
            run_after: eb.case().when(free).then(next).else(eb.ref('run_after')).end(),
            queued_until: eb.case().when(free).then(null).else(eb.ref('queued_until')).end(),
            pending_source: eb.case().when(free).then(null).else(eb.ref('pending_source')).end(),
            manual_run_at: eb.case().when(free).then(null).else(eb.ref('manual_run_at')).end(),
          };
        }),
      )
      .where('id', '=', params.id)
      .execute();
  });
  return taskGetById(conn, params.id);
}

/** Deletes a task and, by cascade, its runs. Returns whether it existed. */
export async function taskDelete(conn: Db, id: number): Promise<boolean> {
  const result = await conn.db.deleteFrom('tasks').where('id', '=', id).executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Whether `workerId` holds the task's lease now, or has already run an attempt of it. */
export async function taskTakenBy(conn: Db, params: { id: number; workerId: string }): Promise<boolean> {
  const row = await conn.db
    .selectFrom('tasks')
    .select('id')
    .where('id', '=', params.id)
    .where((eb) =>
      eb.or([
        eb('lease_owner', '=', params.workerId),
        eb.exists(
          eb
            .selectFrom('task_runs')
            .select('task_runs.id')
            .whereRef('task_runs.task_id', '=', 'tasks.id')
            .where('task_runs.worker', '=', params.workerId),
        ),
      ]),
    )
    .executeTakeFirst();
  return row !== undefined;
}
