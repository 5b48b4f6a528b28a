import type { Generated, Selectable, Updateable } from 'kysely';

/** Row shapes as kysely sees them. Times are Date on MySQL and ISO strings on SQLite; mappers read both. */
export interface TasksTable {
  id: Generated<number>;
  name: string;
  /** The owner's stable name for the task (what `vigil apply` matches on); unique when set. */
  key: string | null;
  type: string;
  /** JSON text. */
  payload: string;
  schedule_every: number | null;
  schedule_cron: string | null;
  schedule_tz: string | null;
  /** `schedule.jitter`, seconds; null when unset. */
  schedule_jitter: number | null;
  /** `schedule.catch_up`: 'collapse' (or null), 'skip', or 'window:<ms>'. */
  schedule_catch_up: string | null;
  priority: number;
  timeout_ms: number;
  max_attempts: number;
  status: TaskStatus;
  /** JSON text. */
  notify: string | null;
  /** The slot: due time of the pending run. */
  next_run_at: Date;
  /** Earliest start of the next attempt: the slot, or later while a retry backs off. */
  run_after: Date;
  /**
   * The latest slot an attempt was claimed for (null before the first claim). next_run_at only ever moves past it
   * when a new slot starts, so no slot comes up twice (see `slot-forward.ts`).
   */
  last_slot: Date | null;
  /** Attempts used by the current slot. */
  attempts: number;
  /** Why the next attempt happens when it is not the plain schedule: retry, recovery or manual. */
  pending_source: RunSource | null;
  /** Set while an entry for the task is in the stream; the publisher skips the task until it passes. */
  queued_until: Date | null;
  /** A "run now" that arrived while a slot was running; the next slot is no later than this. */
  manual_run_at: Date | null;
  lease_owner: string | null;
  lease_token: string | null;
  lease_expires_at: Date | null;
  last_run_at: Date | null;
  last_status: SlotOutcome | null;
  last_error: string | null;
  /** The confirmed state of a monitored task (1 up, 0 down), after its thresholds; null until one is confirmed. */
  up: number | null;
  /** Nothing is sent before this time; the checks still run. */
  silenced_until: Date | null;
  /** What the latest result showed (1 up, 0 down), and how many results in a row showed it. */
  alert_last_up: number | null;
  alert_streak: Generated<number>;
  /** When the confirmed state became down; null while up. */
  alert_down_since: Date | null;
  /** When the last `down` or reminder went out, and how many reminders followed the first `down`. */
  alert_reminded_at: Date | null;
  alert_reminders: Generated<number>;
  idempotency_key: string | null;
  request_hash: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface TaskRunsTable {
  id: Generated<number>;
  task_id: number;
  slot: Date;
  attempt: number;
  source: RunSource;
  status: RunStatus;
  started_at: Date;
  finished_at: Date | null;
  duration_ms: number | null;
  worker: string;
  /** JSON text. */
  output: string | null;
  error: string | null;
}

export interface DeadLettersTable {
  id: Generated<number>;
  task_id: number | null;
  slot: Date | null;
  reason: DeadLetterReason;
  error: string | null;
  /** JSON text: the original entry or slot. */
  fields: string;
  /** `<stream key>/<entry id>` of the stream entry it was made from; unique (migration 007). */
  entry_key: string | null;
  created_at: Date;
}

export interface TaskMemoryTable {
  task_id: number;
  /** JSON text. */
  value: string;
  updated_at: Date;
}

export interface NotificationsTable {
  id: Generated<number>;
  task_id: number;
  run_id: number | null;
  /** The channel it goes to; null for a task's own `webhook_url`. */
  channel_id: number | null;
  event: string;
  url: string;
  /** The JSON body: `{task_id, name, event, output, timestamp, target?}`; each channel formats it its own way. */
  body: string;
  status: NotificationStatus;
  attempts: number;
  next_attempt_at: Date;
  /** Set while a process is delivering it; past it, another process may try. */
  lease_until: Date | null;
  /** The delivery lease's token (migration 007); an attempt is recorded only while it still holds. */
  lease_token: string | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
}

export interface NotificationAttemptsTable {
  id: Generated<number>;
  notification_id: number;
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  created_at: Date;
}

export interface ChannelsTable {
  id: Generated<number>;
  name: string;
  kind: string;
  /** JSON text, secrets included. */
  config: string;
  created_at: Date;
  updated_at: Date;
}

export interface HostPermitsTable {
  host: string;
  /** `run`: a request in flight; `rate`: a request started within the rate's window. */
  kind: 'run' | 'rate';
  /** The place taken, below the limit: the primary key (host, kind, slot_no) is the semaphore. */
  slot_no: number;
  token: string;
  expires_at: Date;
}

export interface Database {
  tasks: TasksTable;
  task_runs: TaskRunsTable;
  dead_letters: DeadLettersTable;
  task_memory: TaskMemoryTable;
  notifications: NotificationsTable;
  notification_attempts: NotificationAttemptsTable;
  channels: ChannelsTable;
  host_permits: HostPermitsTable;
}

export type NotificationStatus = 'pending' | 'delivered' | 'failed';

export type TaskRow = Selectable<TasksTable>;
export type TaskRowUpdate = Updateable<TasksTable>;
export type TaskRunRow = Selectable<TaskRunsTable>;
export type DeadLetterRow = Selectable<DeadLettersTable>;

export type TaskStatus = 'running' | 'paused';
export type RunSource = 'api' | 'periodic' | 'poll' | 'direct' | 'retry' | 'recovery' | 'manual';
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'timed_out';
export type SlotOutcome = 'succeeded' | 'failed';
export type DeadLetterReason =
  | 'attempts_exhausted'
  | 'malformed'
  | 'unknown_task'
  | 'unknown_type'
  | 'deleted_while_pending';

/**
 * What happens to slots missed while no scheduler ran (or while a run overran): `collapse` runs one for all of
 * them, `skip` drops them and waits for the next future slot, `window` runs each missed slot within the window,
 * oldest first.
 */
export type CatchUp = 'collapse' | 'skip' | { windowMs: number };

/**
 * A schedule: every N seconds, or a cron line with an optional IANA time zone; optionally a jitter (seconds: each
 * slot is shifted by a stable offset below it) and a catch-up policy (default `collapse`).
 */
export type Schedule = ({ every: number } | { cron: string; tz?: string | undefined }) & {
  jitter?: number | undefined;
  catchUp?: CatchUp | undefined;
};

export type JsonObject = { [key: string]: unknown };

/** A task as the rest of the service sees it. */
export interface Task {
  id: number;
  name: string;
  /** The owner's stable name for the task, unique when set; null when it has none. */
  key: string | null;
  type: string;
  payload: JsonObject;
  schedule: Schedule;
  priority: number;
  timeoutMs: number;
  maxAttempts: number;
  status: TaskStatus;
  notify: JsonObject | null;
  nextRunAt: Date;
  runAfter: Date;
  attempts: number;
  pendingSource: RunSource | null;
  leaseToken: string | null;
  lastRunAt: Date | null;
  lastStatus: SlotOutcome | null;
  lastError: string | null;
  /** The confirmed state of a monitored task (after its thresholds); null until one is confirmed. */
  up: boolean | null;
  /** Notifications are not sent before this time. */
  silencedUntil: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** What defines a task, as its owner sets it: the fields of a create, in the store's vocabulary. */
export type TaskDefinition = Pick<
  Task,
  'name' | 'key' | 'type' | 'payload' | 'schedule' | 'priority' | 'timeoutMs' | 'maxAttempts' | 'status' | 'notify'
>;

export interface TaskRun {
  id: number;
  taskId: number;
  slot: Date;
  attempt: number;
  source: RunSource;
  status: RunStatus;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  worker: string;
  output: unknown;
  error: string | null;
}

export interface DeadLetter {
  id: number;
  taskId: number | null;
  slot: Date | null;
  reason: DeadLetterReason;
  error: string | null;
  fields: JsonObject;
  createdAt: Date;
}

export interface NotificationAttempt {
  attempt: number;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  createdAt: Date;
}

export interface Notification {
  id: number;
  taskId: number;
  runId: number | null;
  /** The channel, with its name and kind while it exists; null for a task's own `webhook_url`. */
  channel: { id: number; name: string | null; kind: string | null } | null;
  event: string;
  url: string;
  body: JsonObject;
  status: NotificationStatus;
  attempts: NotificationAttempt[];
  nextAttemptAt: Date;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

/** A notification channel, secrets included: the API masks them. */
export interface Channel {
  id: number;
  name: string;
  kind: string;
  config: JsonObject;
  createdAt: Date;
  updatedAt: Date;
}

/** A page of results and the cursor of the next page (null on the last). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
