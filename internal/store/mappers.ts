import { type SelectQueryBuilder, sql } from 'kysely';
import type {
  CatchUp,
  Database,
  DeadLetter,
  DeadLetterRow,
  JsonObject,
  Page,
  Schedule,
  Task,
  TaskRow,
  TaskRun,
  TaskRunRow,
} from './types.js';

/** MySQL hands back Date, SQLite ISO text. */
export function toDate(value: Date | string): Date {
  return value instanceof Date ? value : new Date(value);
}

export function toDateOrNull(value: Date | string | null): Date | null {
  return value === null ? null : toDate(value);
}

export function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

export function scheduleOf(
  row: Pick<TaskRow, 'schedule_every' | 'schedule_cron' | 'schedule_tz'> & Partial<Pick<TaskRow, 'schedule_jitter' | 'schedule_catch_up'>>,
): Schedule {
  const jitter = row.schedule_jitter === null || row.schedule_jitter === undefined ? {} : { jitter: Number(row.schedule_jitter) };
  const catchUp = catchUpOf(row.schedule_catch_up ?? null);
  const options = { ...jitter, ...(catchUp === undefined ? {} : { catchUp }) };
  if (row.schedule_every !== null) return { every: Number(row.schedule_every), ...options };
  return row.schedule_tz === null
    ? { cron: row.schedule_cron ?? '', ...options }
    : { cron: row.schedule_cron ?? '', tz: row.schedule_tz, ...options };
}

export function scheduleColumns(schedule: Schedule) {
  const options = {
    schedule_jitter: schedule.jitter ?? null,
    schedule_catch_up: schedule.catchUp === undefined ? null : catchUpColumn(schedule.catchUp),
  };
  return 'every' in schedule
    ? { schedule_every: schedule.every, schedule_cron: null, schedule_tz: null, ...options }
    : { schedule_every: null, schedule_cron: schedule.cron, schedule_tz: schedule.tz ?? null, ...options };
}

/** `schedule_catch_up` as the store reads it: null (and `collapse`) is the default. */
function catchUpOf(column: string | null): CatchUp | undefined {
  if (column === null) return undefined;
  if (column === 'skip' || column === 'collapse') return column;
  const match = /^window:(\d+)$/.exec(column);
  return match === null ? undefined : { windowMs: Number(match[1]) };
}

function catchUpColumn(catchUp: CatchUp): string {
  return typeof catchUp === 'string' ? catchUp : `window:${Math.round(catchUp.windowMs)}`;
}

export function taskFromRow(row: TaskRow): Task {
  return {
    id: Number(row.id),
    name: row.name,
    key: row.key ?? null,
    type: row.type,
    payload: parseJson<JsonObject>(row.payload) ?? {},
    schedule: scheduleOf(row),
    priority: Number(row.priority),
    timeoutMs: Number(row.timeout_ms),
    maxAttempts: Number(row.max_attempts),
    status: row.status,
    notify: parseJson<JsonObject>(row.notify),
    nextRunAt: toDate(row.next_run_at),
    runAfter: toDate(row.run_after),
    attempts: Number(row.attempts),
    pendingSource: row.pending_source,
    leaseToken: row.lease_token,
    lastRunAt: toDateOrNull(row.last_run_at),
    lastStatus: row.last_status,
    lastError: row.last_error,
    up: row.up === null || row.up === undefined ? null : Boolean(Number(row.up)),
    silencedUntil: toDateOrNull(row.silenced_until ?? null),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

export function runFromRow(row: TaskRunRow): TaskRun {
  return {
    id: Number(row.id),
    taskId: Number(row.task_id),
    slot: toDate(row.slot),
    attempt: Number(row.attempt),
    source: row.source,
    status: row.status,
    startedAt: toDate(row.started_at),
    finishedAt: toDateOrNull(row.finished_at),
    durationMs: row.duration_ms === null ? null : Number(row.duration_ms),
    worker: row.worker,
    output: parseJson<unknown>(row.output),
    error: row.error,
  };
}

export function deadLetterFromRow(row: DeadLetterRow): DeadLetter {
  return {
    id: Number(row.id),
    taskId: row.task_id === null ? null : Number(row.task_id),
    slot: toDateOrNull(row.slot),
    reason: row.reason,
    error: row.error,
    fields: parseJson<JsonObject>(row.fields) ?? {},
    createdAt: toDate(row.created_at),
  };
}

/**
 * Fetches one page of `query` in id order (`desc`: newest first), starting after the cursor, with one row more
 * than the limit: {@link pageOf} turns that row into the next cursor. An unknown cursor starts from the beginning.
 */
export async function pageOf<T extends keyof Database, R extends { id: number }, I extends { id: number }>(
  query: SelectQueryBuilder<Database, T, R>,
  params: { limit: number; cursor?: string | undefined; order: 'asc' | 'desc' },
  toItem: (row: R) => I,
): Promise<Page<I>> {
  const from = params.cursor === undefined ? undefined : decodeCursor(params.cursor);
  const rows = await query
    .orderBy(sql.ref('id'), params.order)
    .$if(from !== undefined, (qb) => qb.where(sql.ref('id'), params.order === 'asc' ? '>' : '<', from as number))
    .limit(params.limit + 1)
    .execute();
  return pageFromRows(rows, params.limit, toItem);
}

/**
 * A page from rows fetched with `limit + 1`: the extra row only says that another page exists, and the cursor is
 * the id of the last item returned.
 */
function pageFromRows<R, T extends { id: number }>(rows: readonly R[], limit: number, toItem: (row: R) => T): Page<T> {
  const items = rows.slice(0, limit).map(toItem);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.id) : null };
}

/** Cursors are opaque to clients: base64url of the last id seen. */
function encodeCursor(id: number): string {
  return Buffer.from(String(id), 'utf8').toString('base64url');
}

/** The id inside a cursor, or undefined when the cursor is not one of ours. */
export function decodeCursor(cursor: string): number | undefined {
  const id = Number(Buffer.from(cursor, 'base64url').toString('utf8'));
  return Number.isSafeInteger(id) && id > 0 ? id : undefined;
}
