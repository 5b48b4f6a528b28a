import type { Notification, Page, Schedule, Task, TaskRun } from '../store/index.js';
import type { NotificationJson } from './ops-schemas.js';
import type { RunJson, TaskJson, TaskSpecJson } from './schemas.js';
import type { TaskCreateInput } from './task-input.js';

/**
 * Domain objects → the JSON of DESIGN §4: snake_case, schedules as `{every}` or `{cron, tz?}`, times as ISO-8601
 * UTC strings, and nothing of the scheduler's bookkeeping (leases, attempts, queue marks), which is not the
 * client's business and would tie the API to the storage layout.
 */
export function taskToJson(task: Task): TaskJson {
  return {
    id: task.id,
    name: task.name,
    key: task.key,
    type: task.type,
    payload: task.payload,
    schedule: scheduleToJson(task.schedule),
    priority: task.priority,
    timeout_ms: task.timeoutMs,
    max_attempts: task.maxAttempts,
    status: task.status,
    notify: (task.notify as TaskJson['notify']) ?? null,
    next_run_at: task.nextRunAt.toISOString(),
    last_run_at: task.lastRunAt?.toISOString() ?? null,
    last_status: task.lastStatus,
    up: task.up,
    silenced_until: task.silencedUntil?.toISOString() ?? null,
    created_at: task.createdAt.toISOString(),
    updated_at: task.updatedAt.toISOString(),
  };
}

/** A checked create request as the task it would make, without any state (`POST /tasks/validate`). */
export function taskSpecToJson(input: TaskCreateInput): TaskSpecJson {
  return {
    name: input.name,
    key: input.key,
    type: input.type,
    payload: input.payload,
    schedule: scheduleToJson(input.schedule),
    priority: input.priority,
    timeout_ms: input.timeoutMs,
    max_attempts: input.maxAttempts,
    status: input.status,
    notify: (input.notify as TaskSpecJson['notify']) ?? null,
  };
}

/** `{every}` or `{cron}` / `{cron, tz}`: `tz` is left out rather than null when the line is read in UTC. */
export function scheduleToJson(schedule: Schedule): TaskJson['schedule'] {
  const options = {
    ...(schedule.jitter === undefined ? {} : { jitter: schedule.jitter }),
    ...(schedule.catchUp === undefined
      ? {}
      : { catch_up: typeof schedule.catchUp === 'string' ? schedule.catchUp : { window: durationText(schedule.catchUp.windowMs) } }),
  };
  if ('every' in schedule) return { every: schedule.every, ...options };
  return schedule.tz === undefined ? { cron: schedule.cron, ...options } : { cron: schedule.cron, tz: schedule.tz, ...options };
}

/** Milliseconds as the API writes durations (`90m`, `1h`, `2d`): the largest unit that divides them. */
function durationText(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${Math.round(ms / 1000)}s`;
}

export function runToJson(run: TaskRun): RunJson {
  return {
    id: run.id,
    task_id: run.taskId,
    slot: run.slot.toISOString(),
    attempt: run.attempt,
    source: run.source,
    status: run.status,
    started_at: run.startedAt.toISOString(),
    finished_at: run.finishedAt?.toISOString() ?? null,
    duration_ms: run.durationMs,
    worker: run.worker,
    output: run.output ?? null,
    error: run.error,
  };
}

/** `{ items, next_cursor }` of any page. */
export function pageToJson<T, J>(page: Page<T>, toJson: (item: T) => J): { items: J[]; next_cursor: string | null } {
  return { items: page.items.map(toJson), next_cursor: page.nextCursor };
}

export function notificationToJson(n: Notification): NotificationJson {
  return {
    id: n.id,
    task_id: n.taskId,
    run_id: n.runId,
    event: n.event,
    url: n.channel === null ? n.url : null,
    channel: n.channel,
    status: n.status,
    body: n.body,
    attempts: n.attempts.map((a) => ({
      attempt: a.attempt,
      status_code: a.statusCode,
      error: a.error,
      duration_ms: a.durationMs,
      at: a.createdAt.toISOString(),
    })),
    next_attempt_at: n.nextAttemptAt.toISOString(),
    last_error: n.lastError,
    created_at: n.createdAt.toISOString(),
    delivered_at: n.deliveredAt?.toISOString() ?? null,
  };
}
