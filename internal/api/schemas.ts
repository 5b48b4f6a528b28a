import ms from 'ms';
import { validate as isValidCronLine } from 'node-cron';
import { z } from 'zod';
import { NOTIFY_EVENTS } from '../handlers/index.js';
import { decodeCursor, isComputableCron } from '../store/index.js';
import { API_ERROR_CODES } from './errors.js';

/**
 * The API's wire format, requests and responses, as zod schemas. The same schemas validate requests and (later)
 * generate `/openapi.json` with `z.toJSONSchema`, so they avoid transforms: checks that JSON Schema cannot express
 * (cron syntax, time zones, cursors) are refinements, which the generator leaves out and validation still runs.
 * Checks that need the handler registry (is the type registered, does the payload fit it) live in
 * `task-input.ts`, because they depend on what the process has registered.
 */

// ---------------------------------------------------------------------------------------------------------------
// Field schemas, shared by create, change and the task response.

/** Longest schedule `every`: one year, in seconds. */
export const MAX_EVERY_SECONDS = 31_536_000;

export const taskNameSchema = z.string().min(1, { error: 'must not be empty' }).max(200, { error: 'must be at most 200 characters' });

export const taskKeySchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, {
    error: 'must start with a letter or digit and hold only letters, digits and . _ : / -',
  })
  .max(200, { error: 'must be at most 200 characters' })
  .meta({
    description: "The owner's stable name for the task, unique among tasks: what `vigil apply` matches a monitors file on.",
    examples: ['shop-feed'],
  });

export const taskTypeNameSchema = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(100, { error: 'must be at most 100 characters' })
  .meta({ description: 'A registered task type, such as `http` or `noop`.' });

export const payloadSchema = z
  .record(z.string(), z.unknown())
  .meta({ description: "The handler's input; checked against the type's payload schema." });

/** Longest `schedule.jitter`: a day, in seconds. */
export const MAX_JITTER_SECONDS = 86_400;
/** Longest `schedule.catch_up.window`: 30 days. */
const MAX_CATCH_UP_WINDOW_MS = 30 * 24 * 3600 * 1000;

const jitterSchema = z
  .int({ error: 'must be a whole number of seconds' })
  .min(0, { error: 'must be at least 0' })
  .max(MAX_JITTER_SECONDS, { error: `must be at most ${MAX_JITTER_SECONDS} seconds (one day)` })
  .meta({
    description:
      "Shifts every slot by the task's own stable offset, below this many seconds (a hash of its id: the same in every process and after restarts), so that many tasks on one schedule do not all fire at once. With `every`, slots then sit on a fixed grid (multiples of `every` since the epoch, plus the offset).",
    examples: [30],
  });

const catchUpSchema = z
  .union(
    [
      z.enum(['collapse', 'skip']),
      z.strictObject({
        window: z
          .string()
          .regex(/^\d{1,7}(s|m|h|d)$/, { error: 'must be a duration like 30s, 15m, 1h or 1d' })
          .refine((text) => (ms(text as ms.StringValue) ?? 0) >= 1000 && (ms(text as ms.StringValue) ?? 0) <= MAX_CATCH_UP_WINDOW_MS, {
            error: 'must be from 1s to 30d',
          }),
      }),
    ],
    { error: 'must be "collapse", "skip" or {"window": "1h"}' },
  )
  .meta({
    id: 'CatchUp',
    description:
      'Slots missed while no scheduler ran (or while a run overran): `collapse` (default) runs one for all of them, `skip` drops them and runs the next future slot, `{"window": "1h"}` runs each missed slot within the window once, oldest first.',
    examples: ['skip', { window: '1h' }],
  });

/** `jitter` and `catch_up`, which both forms of schedule take. */
const scheduleOptions = { jitter: jitterSchema.optional(), catch_up: catchUpSchema.optional() };

export const everyScheduleSchema = z
  .strictObject({
    every: z
      .int({ error: 'must be a whole number of seconds' })
      .min(1, { error: 'must be at least 1 second' })
      .max(MAX_EVERY_SECONDS, { error: `must be at most ${MAX_EVERY_SECONDS} seconds (one year)` }),
    ...scheduleOptions,
  })
  .superRefine((schedule, ctx) => {
    if (schedule.jitter !== undefined && schedule.jitter > schedule.every) {
      ctx.addIssue({ code: 'custom', path: ['jitter'], message: `must be at most every (${schedule.every} seconds)` });
    }
  })
  .meta({ id: 'EverySchedule', description: 'Run every N seconds.' });

const cronLineSchema = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(200, { error: 'must be at most 200 characters' })
  .refine(isValidCron, { error: 'is not a valid cron expression' })
  .meta({ description: 'Five fields, or six with seconds first.', examples: ['*/5 * * * *'] });

const timeZoneSchema = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(64, { error: 'must be at most 64 characters' })
  .refine(isValidTimeZone, { error: 'is not a known IANA time zone' })
  .meta({ description: 'IANA time zone the cron line is read in. Default UTC.', examples: ['Asia/Tokyo'] });

export const cronScheduleSchema = z
  .strictObject({ cron: cronLineSchema, tz: timeZoneSchema.optional(), ...scheduleOptions })
  .superRefine((schedule, ctx) => {
    // Both parts are valid on their own, yet the scheduler's cron engine may still not compute the pair.
    if (!isValidCron(schedule.cron) || (schedule.tz !== undefined && !isValidTimeZone(schedule.tz))) return;
    if (!isComputableCron(schedule.cron, schedule.tz)) {
      ctx.addIssue({ code: 'custom', path: ['tz'], message: 'cannot compute this cron expression in this time zone' });
    }
  })
  .meta({ id: 'CronSchedule', description: 'Run on a cron line, read in a time zone.' });

export const scheduleSchema = z
  .union([everyScheduleSchema, cronScheduleSchema], {
    error: 'must be {"every": seconds} or {"cron": "expression", "tz"?: "zone"}, with optional "jitter" and "catch_up"',
  })
  .meta({ id: 'Schedule' });

export const prioritySchema = z
  .int({ error: 'must be a whole number from 1 to 5' })
  .min(1, { error: 'must be from 1 to 5' })
  .max(5, { error: 'must be from 1 to 5' })
  .meta({ description: '5 runs first.' });

export const timeoutMsSchema = z
  .int({ error: 'must be a whole number of milliseconds' })
  .min(100, { error: 'must be at least 100 ms' })
  .max(3_600_000, { error: 'must be at most 3600000 ms (one hour)' });

export const maxAttemptsSchema = z
  .int({ error: 'must be a whole number' })
  .min(1, { error: 'must be at least 1' })
  .max(100, { error: 'must be at most 100' });

export const taskStatusSchema = z.enum(['running', 'paused']);

/** The events `notify.on` may list: the handlers' one list (`NOTIFY_EVENTS`). */
export const notifyEventSchema = z.enum(NOTIFY_EVENTS, { error: `must be one of ${NOTIFY_EVENTS.join(', ')}` });

/** Longest `remind_every`: 30 days. */
const MAX_REMIND_MS = 30 * 24 * 3600_000;

const thresholdSchema = (what: string) =>
  z
    .int({ error: 'must be a whole number from 1 to 100' })
    .min(1, { error: 'must be from 1 to 100' })
    .max(100, { error: 'must be from 1 to 100' })
    .optional()
    .meta({ description: what });

export const notifySchema = z
  .strictObject({
    webhook_url: z
      .url({ protocol: /^https?$/, error: 'must be an http or https URL' })
      .max(2000, { error: 'must be at most 2000 characters' })
      .optional()
      .meta({ description: 'A receiver of signed JSON POSTs, as before channels existed.' }),
    channels: z
      .array(z.int({ error: 'must be a channel id' }).positive({ error: 'must be a channel id' }))
      .max(20, { error: 'must list at most 20 channels' })
      .refine((ids) => new Set(ids).size === ids.length, { error: 'must not list a channel twice' })
      .optional()
      .meta({ description: 'Ids of channels (`POST /channels`) that receive the events.' }),
    on: z
      .array(notifyEventSchema)
      .min(1, { error: 'must name at least one event' })
      .default(['down', 'up'])
      .meta({ description: 'The events sent. Default `["down", "up"]`.' }),
    down_after: thresholdSchema('Consecutive down results before the task is down and `down` is sent. Default 1.'),
    up_after: thresholdSchema('Consecutive up results before the task is up again and `up` is sent. Default 1.'),
    remind_every: z
      .string()
      .regex(/^\d{1,7}(s|m|h|d)$/, { error: 'must be a duration like 30s, 15m, 1h or 1d' })
      .refine((text) => (ms(text as ms.StringValue) ?? 0) >= 1000 && (ms(text as ms.StringValue) ?? 0) <= MAX_REMIND_MS, {
        error: 'must be from 1s to 30d',
      })
      .optional()
      .meta({ description: 'Send `down` again this often while the task stays down. Default: never.', examples: ['1h'] }),
  })
  .meta({
    id: 'Notify',
    description:
      'Where and when the task’s events are sent: its own webhook and channels, which events, after how many results in a row, and how often to remind.',
  });

export const silencedUntilSchema = z.iso
  .datetime({ offset: true, error: 'must be an ISO-8601 time such as 2031-05-06T07:00:00Z, or null' })
  .nullable()
  .meta({ description: 'Nothing is sent before this time; the checks still run and are recorded. Null: not silenced.' });

// ---------------------------------------------------------------------------------------------------------------
// Requests.

export const taskCreateBodySchema = z
  .strictObject({
    name: taskNameSchema,
    key: taskKeySchema.optional(),
    type: taskTypeNameSchema,
    payload: payloadSchema.default({}),
    schedule: scheduleSchema,
    priority: prioritySchema.default(3),
    timeout_ms: timeoutMsSchema.default(30_000),
    max_attempts: maxAttemptsSchema.default(3),
    status: taskStatusSchema.default('running'),
    notify: notifySchema.nullable().optional(),
    silenced_until: silencedUntilSchema.optional(),
  })
  .meta({ id: 'TaskCreate', description: 'The body of `POST /tasks`. Unknown fields are refused.' });

export type TaskCreateBody = z.output<typeof taskCreateBodySchema>;

/** Names of the fields a change may carry, for the "at least one" message. */
const PATCHABLE_FIELDS = Object.keys(taskCreateBodySchema.shape);

export const taskPatchBodySchema = z
  .strictObject({
    name: taskNameSchema.optional(),
    key: taskKeySchema.nullable().optional(),
    type: taskTypeNameSchema.optional(),
    payload: payloadSchema.optional(),
    schedule: scheduleSchema.optional(),
    priority: prioritySchema.optional(),
    timeout_ms: timeoutMsSchema.optional(),
    max_attempts: maxAttemptsSchema.optional(),
    status: taskStatusSchema.optional(),
    notify: notifySchema.nullable().optional(),
    silenced_until: silencedUntilSchema.optional(),
  })
  .refine((body) => Object.values(body).some((value) => value !== undefined), {
    error: `must change at least one of ${PATCHABLE_FIELDS.join(', ')}`,
  })
  .meta({
    id: 'TaskPatch',
    description:
      'The body of `PATCH /tasks/{id}`: any fields of a task, at least one. `notify: null` and `key: null` remove them.',
  });

export type TaskPatchBody = z.output<typeof taskPatchBodySchema>;

export const cursorSchema = z
  .string()
  .max(200, { error: 'is not a valid cursor' })
  .refine((cursor) => decodeCursor(cursor) !== undefined, { error: 'is not a valid cursor' })
  .meta({ description: '`next_cursor` of the previous page.' });

// Query values arrive as strings, so limits are coerced; a repeated parameter arrives as an array and is refused.
export const limitSchema = z.coerce
  .number({ error: 'must be a whole number from 1 to 500' })
  .int({ error: 'must be a whole number from 1 to 500' })
  .min(1, { error: 'must be from 1 to 500' })
  .max(500, { error: 'must be from 1 to 500' })
  .default(50);

/** `{ limit, cursor, …filters }`: the query of a list request, the counterpart of {@link listJsonSchema}. */
export function listQuerySchema<F extends z.core.$ZodLooseShape>(filters: F, id: string) {
  return z.strictObject({ limit: limitSchema, cursor: cursorSchema.optional(), ...filters }).meta({ id });
}

export const taskListQuerySchema = z
  .strictObject({
    status: taskStatusSchema.optional(),
    type: taskTypeNameSchema.optional(),
    key: taskKeySchema.optional().meta({ description: 'Only the task with this key.' }),
    up: z
      .enum(['true', 'false'], { error: 'must be true or false' })
      .optional()
      .meta({ description: 'Only tasks whose check last reported up (`true`) or down (`false`).' }),
    q: z
      .string()
      .min(1, { error: 'must not be empty' })
      .max(200, { error: 'must be at most 200 characters' })
      .optional()
      .meta({ description: 'Only tasks whose name contains this text, ignoring ASCII case.', examples: ['shop'] }),
    limit: limitSchema,
    cursor: cursorSchema.optional(),
  })
  .meta({ id: 'TaskListQuery' });

export type TaskListQuery = z.output<typeof taskListQuerySchema>;

export const runListQuerySchema = listQuerySchema({}, 'RunListQuery');

export type RunListQuery = z.output<typeof runListQuerySchema>;

// ---------------------------------------------------------------------------------------------------------------
// Responses.

export const isoTimeSchema = z.iso.datetime({ offset: false }).meta({ description: 'ISO-8601, UTC.' });

export const lastRunJsonSchema = z
  .strictObject({
    id: z.int().positive(),
    status: z.enum(['succeeded', 'failed', 'timed_out']),
    started_at: isoTimeSchema,
    finished_at: isoTimeSchema.nullable(),
    duration_ms: z.int().nonnegative().nullable(),
    latency_ms: z
      .number()
      .nonnegative()
      .nullable()
      .meta({ description: "The check's own `latency_ms` output (the http type); null when the handler reports none." }),
    up: z.boolean().nullable().meta({ description: "The attempt's `up` output; null when the handler reports none." }),
  })
  .meta({ id: 'LastRun', description: 'The latest finished attempt of a task.' });

export type LastRunJson = z.output<typeof lastRunJsonSchema>;

/** What a task does and when, as stored: shared by {@link taskJsonSchema} and {@link taskSpecJsonSchema}. */
const taskSettingsJsonShape = {
  type: z.string(),
  payload: payloadSchema,
  schedule: scheduleSchema,
  priority: prioritySchema,
  timeout_ms: timeoutMsSchema,
  max_attempts: maxAttemptsSchema,
  status: taskStatusSchema,
  notify: notifySchema.nullable(),
};

export const taskJsonSchema = z
  .strictObject({
    id: z.int().positive(),
    name: z.string(),
    key: z.string().nullable().meta({ description: "The owner's stable name for the task; null when it has none." }),
    ...taskSettingsJsonShape,
    next_run_at: isoTimeSchema,
    last_run_at: isoTimeSchema.nullable(),
    last_status: z.enum(['succeeded', 'failed']).nullable(),
    up: z
      .boolean()
      .nullable()
      .meta({
        description:
          'The confirmed state of a monitoring check (the http type), after `notify.down_after`/`up_after`; null until one is confirmed.',
      }),
    silenced_until: isoTimeSchema.nullable().meta({ description: 'Nothing is sent before this time.' }),
    created_at: isoTimeSchema,
    updated_at: isoTimeSchema,
    next_runs: z
      .array(isoTimeSchema)
      .optional()
      .meta({ description: 'The next three slots, from `next_run_at` on. Present on `GET /tasks` and `GET /tasks/{id}`.' }),
    last_run: lastRunJsonSchema
      .nullable()
      .optional()
      .meta({ description: 'Null before the first attempt ends. Present on `GET /tasks` and `GET /tasks/{id}`.' }),
  })
  .meta({ id: 'Task' });

export type TaskJson = z.output<typeof taskJsonSchema>;

/**
 * A task as it would be stored, without its state: what `POST /tasks/validate` answers, with the defaults filled in
 * and the payload as the type's schema returns it. Comparing it with a task's same fields tells whether a change
 * would change anything.
 */
export const taskSpecJsonSchema = z
  .strictObject({
    name: z.string(),
    key: z.string().nullable(),
    ...taskSettingsJsonShape,
  })
  .meta({ id: 'TaskSpec' });

export type TaskSpecJson = z.output<typeof taskSpecJsonSchema>;

export const queuedViaSchema = z
  .enum(['stream', 'direct', 'poll'])
  .meta({ description: 'How the new task reached a scheduler: the stream, this process, or the next poll.' });

export const taskCreatedJsonSchema = taskJsonSchema
  .extend({ queued_via: queuedViaSchema })
  .meta({ id: 'TaskCreated' });

export type TaskCreatedJson = z.output<typeof taskCreatedJsonSchema>;

export const runJsonSchema = z
  .strictObject({
    id: z.int().positive(),
    task_id: z.int().positive(),
    slot: isoTimeSchema,
    attempt: z.int().positive(),
    source: z.enum(['api', 'periodic', 'poll', 'direct', 'retry', 'recovery', 'manual']),
    status: z.enum(['running', 'succeeded', 'failed', 'timed_out']),
    started_at: isoTimeSchema,
    finished_at: isoTimeSchema.nullable(),
    duration_ms: z.int().nonnegative().nullable(),
    worker: z.string(),
    output: z.unknown().meta({ description: "Whatever the handler returned; null when it returned nothing." }),
    error: z.string().nullable(),
  })
  .meta({ id: 'Run' });

export type RunJson = z.output<typeof runJsonSchema>;

/** `{ items, next_cursor }`: every list response. */
export function listJsonSchema<T extends z.ZodType>(item: T, id: string) {
  return z
    .strictObject({
      items: z.array(item),
      next_cursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page; null on the last.' }),
    })
    .meta({ id });
}

export const taskListJsonSchema = listJsonSchema(taskJsonSchema, 'TaskList');
export const runListJsonSchema = listJsonSchema(runJsonSchema, 'RunList');

export const errorBodySchema = z
  .strictObject({
    error: z.strictObject({
      code: z.enum(API_ERROR_CODES),
      message: z.string(),
      fields: z
        .record(z.string(), z.string())
        .optional()
        .meta({ description: 'Field path (such as `schedule.every` or `payload.url`) → what is wrong with it.' }),
    }),
  })
  .meta({ id: 'Error' });

export type ErrorBody = z.output<typeof errorBodySchema>;

/** Which Redis topology is in use and which node serves the queue (`/healthz` and `/queue`). */
export const redisTopologyJsonSchema = z.strictObject({
  topology: z
    .enum(['standalone', 'cluster', 'sentinel'])
    .meta({ description: 'A single Redis (REDIS_ADDR), a Redis Cluster (REDIS_CLUSTER_NODES) or a master behind Sentinel (REDIS_SENTINELS).' }),
  node: z
    .string()
    .nullable()
    .meta({
      description:
        '`host:port` of the node serving the queue now: the master owning the queue\'s hash slot on a Cluster, the current master behind Sentinel; null while there is none (during a failover).',
    }),
});

export const healthReportJsonSchema = z
  .object({
    status: z.enum(['ok', 'degraded']),
    mode: z.enum(['redis_streams', 'db_polling']),
    store: z.looseObject({ driver: z.enum(['mysql', 'sqlite']), ok: z.boolean(), error: z.string().optional() }),
    redis: z.looseObject({
      configured: z.boolean(),
      ok: z.boolean(),
      error: z.string().optional(),
      addr: z.string().optional().meta({ description: 'Where Redis is configured (address, seed nodes, or master@sentinels); never credentials.' }),
      topology: redisTopologyJsonSchema.shape.topology.optional(),
      node: redisTopologyJsonSchema.shape.node.optional(),
    }),
    reasons: z.array(z.string()),
  })
  .meta({ id: 'Health', description: 'Liveness plus dependency state; 200 even when degraded.' });

export const readyJsonSchema = z.strictObject({ ready: z.literal(true) }).meta({ id: 'Ready' });

// ---------------------------------------------------------------------------------------------------------------

/** node-cron's syntax check first (it names bad fields best), then cron-parser, which the scheduler computes with. */
function isValidCron(line: string): boolean {
  return isValidCronLine(line) && isComputableCron(line, undefined);
}

function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
