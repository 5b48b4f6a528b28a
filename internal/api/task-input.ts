import ms from 'ms';
import type { HandlerRegistry } from '../handlers/index.js';
import type { JsonObject, Schedule, Task, TaskDefinition, TaskUpdateParams } from '../store/index.js';
import { ValidationError } from './errors.js';
import type { FieldErrors } from './errors.js';
import { type TaskCreateBody, type TaskPatchBody, taskCreateBodySchema, taskPatchBodySchema } from './schemas.js';
import { fieldErrorsFromIssues, fieldPath } from './validation-fields.js';

/**
 * Request bodies → what the store takes. Syntax comes from the zod schemas; the checks that depend on this
 * process's handler registry (is the type registered, does the payload fit it) are added here, and every problem
 * of a request is reported in one 400 so that a client does not discover them one round trip at a time.
 */

/** A validated create request, in the store's vocabulary. */
export interface TaskCreateInput extends TaskDefinition {
  /** Nothing is sent before this time. */
  silencedUntil: Date | null;
}

/** Validates a `POST /tasks` body; throws ValidationError naming every bad field. */
export function parseTaskCreate(body: unknown, registry: HandlerRegistry): TaskCreateInput {
  const result = taskCreateBodySchema.safeParse(body);
  const fields: FieldErrors = result.success ? {} : fieldErrorsFromIssues(result.error.issues);
  // The registry checks run on the raw body too, so that a bad payload is reported with, say, a bad schedule.
  const raw = isRecord(body) ? body : {};
  const payload = checkTypeAndPayload(registry, raw.type, raw.payload ?? {}, fields);
  if (!result.success || payload === undefined || Object.keys(fields).length > 0) throw new ValidationError(fields);
  return createInputFrom(result.data, payload);
}

/** Validates the syntax of a `PATCH /tasks/:id` body; the registry checks need the task, see {@link resolveTaskPatch}. */
export function parseTaskPatch(body: unknown, registry: HandlerRegistry): TaskPatchBody {
  const result = taskPatchBodySchema.safeParse(body);
  const fields: FieldErrors = result.success ? {} : fieldErrorsFromIssues(result.error.issues);
  if (isRecord(body) && typeof body.type === 'string' && !('type' in fields) && !registry.has(body.type)) {
    fields.type = unknownTypeMessage(registry, body.type);
  }
  if (!result.success || Object.keys(fields).length > 0) throw new ValidationError(fields);
  return result.data;
}

/**
 * The store changes for a patch of `task`. A new type re-checks the payload (the new one, or the task's current
 * one), and a new payload is checked against the type the task will have.
 */
export function resolveTaskPatch(task: Task, patch: TaskPatchBody, registry: HandlerRegistry): TaskUpdateParams['changes'] {
  const changes: TaskUpdateParams['changes'] = {
    name: patch.name,
    key: patch.key,
    type: patch.type,
    schedule: patch.schedule === undefined ? undefined : scheduleFrom(patch.schedule),
    priority: patch.priority,
    timeoutMs: patch.timeout_ms,
    maxAttempts: patch.max_attempts,
    status: patch.status,
    notify: patch.notify === undefined ? undefined : (patch.notify as JsonObject | null),
    silencedUntil: patch.silenced_until === undefined ? undefined : patch.silenced_until === null ? null : new Date(patch.silenced_until),
  };
  if (patch.type !== undefined || patch.payload !== undefined) {
    const fields: FieldErrors = {};
    const payload = checkTypeAndPayload(registry, patch.type ?? task.type, patch.payload ?? task.payload, fields);
    if (payload === undefined) throw new ValidationError(fields);
    // Only a payload the client sent is rewritten; re-checking the current one under a new type leaves it as is.
    if (patch.payload !== undefined) changes.payload = payload;
  }
  return changes;
}

/** Whether two schedules are the same, so that re-sending the current schedule does not move the next slot. */
export function sameSchedule(a: Schedule, b: Schedule): boolean {
  // The catch-up policy does not move slots; the jitter does.
  if ((a.jitter ?? 0) !== (b.jitter ?? 0)) return false;
  if ('every' in a || 'every' in b) return 'every' in a && 'every' in b && a.every === b.every;
  return a.cron === b.cron && (a.tz ?? 'UTC') === (b.tz ?? 'UTC');
}

/** Strictly positive decimal integer ids only: `/tasks/1e3` or `/tasks/01` are not task addresses. */
export function parseTaskId(raw: string | undefined): number {
  const id = raw !== undefined && /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(id)) throw new ValidationError({ id: 'must be a positive integer' });
  return id;
}

/**
 * Checks `type` against the registry and `payload` against the type's schema, adding problems to `fields`.
 * Returns the checked payload (the schema's output, with its defaults), or undefined when either is wrong or when
 * the type is not a string (the schema reports that).
 */
function checkTypeAndPayload(
  registry: HandlerRegistry,
  type: unknown,
  payload: unknown,
  fields: FieldErrors,
): JsonObject | undefined {
  if (typeof type !== 'string' || 'type' in fields) return undefined;
  if (!registry.has(type)) {
    fields.type = unknownTypeMessage(registry, type);
    return undefined;
  }
  // A payload that is not an object at all is already reported by the schema.
  if (!isRecord(payload)) return undefined;
  const check = registry.checkPayload(type, payload);
  if (check.ok) return check.payload;
  for (const issue of check.issues) {
    const name = fieldPath(['payload', ...(issue.path === '' ? [] : [issue.path])], 'payload');
    if (!(name in fields)) fields[name] = issue.message;
  }
  return undefined;
}

function unknownTypeMessage(registry: HandlerRegistry, type: string): string {
  const unavailable = registry.unavailableReason(type);
  if (unavailable !== undefined) return `"${truncate(type)}" is not available in this service: ${unavailable}`;
  const known = registry.names();
  const listed = known.length > 20 ? `${known.slice(0, 20).join(', ')}, …` : known.join(', ');
  return `"${truncate(type)}" is not a registered task type${known.length > 0 ? ` (known: ${listed})` : ''}`;
}

function createInputFrom(body: TaskCreateBody, payload: JsonObject): TaskCreateInput {
  return {
    name: body.name,
    key: body.key ?? null,
    type: body.type,
    payload,
    schedule: scheduleFrom(body.schedule),
    priority: body.priority,
    timeoutMs: body.timeout_ms,
    maxAttempts: body.max_attempts,
    status: body.status,
    notify: (body.notify as JsonObject | null | undefined) ?? null,
    silencedUntil: body.silenced_until === undefined || body.silenced_until === null ? null : new Date(body.silenced_until),
  };
}

function scheduleFrom(schedule: TaskCreateBody['schedule']): Schedule {
  const catchUp = schedule.catch_up;
  const options = {
    ...(schedule.jitter === undefined ? {} : { jitter: schedule.jitter }),
    ...(catchUp === undefined
      ? {}
      : { catchUp: typeof catchUp === 'string' ? catchUp : { windowMs: ms(catchUp.window as ms.StringValue) } }),
  };
  if ('every' in schedule) return { every: schedule.every, ...options };
  return schedule.tz === undefined ? { cron: schedule.cron, ...options } : { cron: schedule.cron, tz: schedule.tz, ...options };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function truncate(text: string): string {
  return text.length > 100 ? `${text.slice(0, 99)}…` : text;
}
