import { z } from 'zod';
import { isoTimeSchema, listJsonSchema, listQuerySchema, redisTopologyJsonSchema } from './schemas.js';

/**
 * Wire format of the operations endpoints (`/stats`, `/queue`, dead letters), as zod schemas that also generate
 * their part of `/openapi.json`.
 */

const countsSchema = z.strictObject({
  created: z.int().nonnegative().meta({ description: 'Tasks that exist.' }),
  pending: z.int().nonnegative().meta({ description: 'Due now and not started.' }),
  running: z.int().nonnegative().meta({ description: 'Slots being run now.' }),
  paused: z.int().nonnegative(),
  up: z.int().nonnegative().meta({ description: 'Tasks whose check last reported up.' }),
  down: z.int().nonnegative().meta({ description: 'Tasks whose check last reported down.' }),
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
  foreign_groups: z
    .array(
      z.strictObject({
        name: z.string(),
        consumers: z.int().nonnegative(),
        pending: z.int().nonnegative(),
        lag: z.int().nonnegative().nullable(),
        idle_ms: z.int().nonnegative().nullable().meta({ description: 'Since its most recently active consumer was active; null without consumers.' }),
        holds_trim: z.boolean().meta({
          description: 'False when trimming ignores it: every consumer silent longer than the consumer idle limit (1 h by default).',
        }),
        holds_from_id: z.string().meta({ description: 'The oldest entry it still needs (pending or unread); trimming keeps it and all after it.' }),
        holds_from_age_ms: z.int().nonnegative().meta({ description: 'Age of that entry, from its id.' }),
      }),
    )
    .meta({
      description:
        'Consumer groups other than this one (for example left behind by a renamed APP_TASK_QUEUE_GROUP). They hold the stream from trimming only while alive, and never beyond its newest 10,000 entries.',
    }),
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
    redis: redisTopologyJsonSchema
      .extend({ ok: z.boolean().meta({ description: 'Whether that node serves the queue now.' }) })
      .optional()
      .meta({ description: 'Which Redis serves the queue; absent when no Redis is configured.' }),
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

export const deadLetterListQuerySchema = listQuerySchema({ reason: deadLetterReasonSchema.optional() }, 'DeadLetterListQuery');

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

/** The windows `GET /stats/runs` answers for, and the bucket each is cut into. */
export const RUN_STATS_WINDOWS = {
  '15m': { windowMs: 15 * 60_000, bucketMs: 60_000 },
  '1h': { windowMs: 3_600_000, bucketMs: 60_000 },
  '6h': { windowMs: 6 * 3_600_000, bucketMs: 5 * 60_000 },
  '24h': { windowMs: 24 * 3_600_000, bucketMs: 15 * 60_000 },
} as const;

export const runStatsQuerySchema = z
  .strictObject({
    window: z
      .enum(Object.keys(RUN_STATS_WINDOWS) as [keyof typeof RUN_STATS_WINDOWS], { error: 'must be one of 15m, 1h, 6h, 24h' })
      .default('1h')
      .meta({ description: 'How far back: 15m and 1h in minutes, 6h in 5-minute buckets, 24h in 15-minute buckets.' }),
  })
  .meta({ id: 'RunStatsQuery' });

const latenessJsonSchema = z
  .strictObject({
    p50: z.int().nonnegative(),
    p95: z.int().nonnegative(),
    max: z.int().nonnegative(),
  })
  .meta({
    id: 'Lateness',
    description: 'How late first attempts started after their slot, in ms. p50 and p95 are read from a histogram.',
  });

const runStatsBucketJsonSchema = z.strictObject({
  start: isoTimeSchema,
  succeeded: z.int().nonnegative(),
  failed: z.int().nonnegative(),
  timed_out: z.int().nonnegative(),
  running: z.int().nonnegative().meta({ description: 'Attempts that started in this bucket and are still running.' }),
  lateness_ms: latenessJsonSchema.nullable().meta({ description: 'Null when no first attempt started in the bucket.' }),
});

export const runStatsJsonSchema = z
  .strictObject({
    window: z.enum(Object.keys(RUN_STATS_WINDOWS) as [keyof typeof RUN_STATS_WINDOWS]),
    bucket_ms: z.int().positive(),
    from: isoTimeSchema,
    to: isoTimeSchema,
    buckets: z.array(runStatsBucketJsonSchema).meta({ description: 'Every bucket of the window, oldest first, empty ones included.' }),
    totals: runStatsBucketJsonSchema.omit({ start: true }),
  })
  .meta({
    id: 'RunStats',
    description: 'Attempts started per bucket by status, and the lateness of first attempts, from the run history.',
    examples: [
      {
        window: '1h',
        bucket_ms: 60000,
        from: '2025-01-01T11:00:00.000Z',
        to: '2025-01-01T12:00:00.000Z',
        buckets: [
          { start: '2025-01-01T11:00:00.000Z', succeeded: 58, failed: 2, timed_out: 0, running: 0, lateness_ms: { p50: 4, p95: 21, max: 40 } },
        ],
        totals: { succeeded: 3480, failed: 12, timed_out: 1, running: 2, lateness_ms: { p50: 5, p95: 24, max: 310 } },
      },
    ],
  });
export type RunStatsJson = z.output<typeof runStatsJsonSchema>;

export const infoJsonSchema = z
  .strictObject({
    version: z.string(),
    read_only: z.boolean().meta({ description: 'APP_UI_READ_ONLY: the dashboard shows but cannot act.' }),
    auth: z.strictObject({
      required: z.boolean().meta({ description: 'Whether APP_API_TOKENS is set.' }),
      token: z
        .enum(['none', 'accepted', 'rejected'])
        .meta({ description: 'What this server makes of the bearer token sent with this request, if any.' }),
      scope: z
        .enum(['read', 'write'])
        .nullable()
        .meta({ description: 'What the accepted token may do (`write` when no tokens are configured); null otherwise.' }),
    }),
    types: z.array(z.string()).meta({ description: 'The registered task types.' }),
  })
  .meta({
    id: 'Info',
    description: 'What a client (the dashboard) needs to know about this server. Open without a token.',
    examples: [{ version: '0.1.0', read_only: false, auth: { required: true, token: 'accepted', scope: 'write' }, types: ['http', 'noop'] }],
  });
export type InfoJson = z.output<typeof infoJsonSchema>;
