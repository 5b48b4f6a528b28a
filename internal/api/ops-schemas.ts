import { z } from 'zod';
import { cursorSchema, isoTimeSchema, limitSchema, listJsonSchema } from './schemas.js';

/**
 * Wire format of the operations endpoints (`/stats`, `/queue`, dead letters), as zod schemas that also generate
 * their part of `/openapi.json`.
 */

const countsSchema = z.strictObject({
  created: z.int().nonnegative().meta({ description: 'Tasks that exist.' }),
  pending: z.int().nonnegative().meta({ description: 'Due now and not started.' }),
  running: z.int().nonnegative().meta({ description: 'Slots being run now.' }),
  paused: z.int().nonnegative(),
  succeeded: z.int().nonnegative().meta({ description: 'Attempts that succeeded, over the kept run history.' }),
  failed: z.int().nonnegative().meta({ description: 'Attempts that failed, over the kept run history.' }),
  timed_out: z.int().nonnegative().meta({ description: 'Attempts that timed out, over the kept run history.' }),
});

export const statsJsonSchema = z
  .strictObject({ totals: countsSchema, by_type: z.record(z.string(), countsSchema) })
  .meta({ id: 'Stats' });
export type StatsJson = z.output<typeof statsJsonSchema>;

const streamJsonSchema = z.strictObject({
  stream: z.string(),
  priority: z.int().min(1).max(5),
  length: z.int().nonnegative(),
  groups: z.int().nonnegative(),
  pending: z.int().nonnegative(),
  lag: z.int().nonnegative().nullable(),
  consumers: z.array(z.strictObject({ name: z.string(), pending: z.int().nonnegative(), idle_ms: z.int().nonnegative() })),
  oldest_pending_age_ms: z.int().nonnegative().nullable(),
});

export const queueJsonSchema = z
  .strictObject({
    mode: z.enum(['redis_streams', 'db_polling']),
    status: z.enum(['healthy', 'degraded', 'unhealthy']),
    reasons: z.array(z.string()),
    streams: z.array(streamJsonSchema).optional().meta({ description: 'Per priority stream; absent when polling.' }),
    totals: z
      .strictObject({
        length: z.int().nonnegative(),
        pending: z.int().nonnegative(),
        lag: z.int().nonnegative(),
        oldest_pending_age_ms: z.int().nonnegative().nullable(),
      })
      .optional(),
    polling: z.strictObject({
      due: z.int().nonnegative(),
      running: z.int().nonnegative(),
      oldest_due_age_ms: z.int().nonnegative().nullable(),
    }),
    dead_letters: z.int().nonnegative(),
  })
  .meta({ id: 'Queue', description: 'Stream health in stream mode; the due-row view in polling mode.' });
export type QueueJson = z.output<typeof queueJsonSchema>;

export const deadLetterReasonSchema = z.enum([
  'attempts_exhausted',
  'malformed',
  'unknown_task',
  'unknown_type',
  'deleted_while_pending',
]);

export const deadLetterJsonSchema = z
  .strictObject({
    id: z.int().positive(),
    task_id: z.int().positive().nullable().meta({ description: 'Null when the entry named no task.' }),
    slot: isoTimeSchema.nullable(),
    reason: deadLetterReasonSchema,
    error: z.string().nullable(),
    fields: z.record(z.string(), z.unknown()).meta({ description: 'The original entry or slot.' }),
    created_at: isoTimeSchema,
  })
  .meta({ id: 'DeadLetter' });
export type DeadLetterJson = z.output<typeof deadLetterJsonSchema>;

export const deadLetterListJsonSchema = listJsonSchema(deadLetterJsonSchema, 'DeadLetterList');

export const deadLetterListQuerySchema = z
  .strictObject({ limit: limitSchema, cursor: cursorSchema.optional(), reason: deadLetterReasonSchema.optional() })
  .meta({ id: 'DeadLetterListQuery' });

export const notificationJsonSchema = z
  .strictObject({
    id: z.int().positive(),
    task_id: z.int().positive(),
    run_id: z.int().positive().nullable(),
    event: z.string(),
    url: z.string().nullable().meta({ description: 'The task’s own webhook_url; null for a channel.' }),
    channel: z
      .strictObject({ id: z.int().positive(), name: z.string().nullable(), kind: z.string().nullable() })
      .nullable()
      .meta({ description: 'The channel it went to (name and kind null once deleted); null for the webhook_url.' }),
    status: z.enum(['pending', 'delivered', 'failed']),
    body: z
      .record(z.string(), z.unknown())
      .meta({ description: 'What was sent: {task_id, name, event, output, timestamp, target?}, formatted by each channel.' }),
    attempts: z.array(
      z.strictObject({
        attempt: z.int().positive(),
        status_code: z.int().nullable().meta({ description: 'The HTTP status, or the SMTP reply code.' }),
        error: z.string().nullable(),
        duration_ms: z.int().nonnegative(),
        at: isoTimeSchema,
      }),
    ),
    next_attempt_at: isoTimeSchema,
    last_error: z.string().nullable(),
    created_at: isoTimeSchema,
    delivered_at: isoTimeSchema.nullable(),
  })
  .meta({ id: 'Notification' });
export type NotificationJson = z.output<typeof notificationJsonSchema>;

export const notificationListJsonSchema = listJsonSchema(notificationJsonSchema, 'NotificationList');
