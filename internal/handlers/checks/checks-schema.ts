import { z } from 'zod';
import { jsonPointerError } from '../http/json-pointer.js';
import { closedObject, REGEX_FLAGS, regexError, regexObjectSchema, wholeNumberSchema } from '../schema-helpers.js';

/**
 * The payload fields of the checks beyond status and body match, shared by the `http` and `browser` types:
 * `max_latency_ms`, `tls`, `json` and `expect_headers`. Each failing check makes the result `up: false` with a short
 * `reason` (see `verdict.ts`).
 */

export const JSON_OPS = ['eq', 'ne', 'lt', 'lte', 'gt', 'gte', 'contains', 'exists', 'matches'] as const;
export type JsonOp = (typeof JSON_OPS)[number];

/** Conditions per task, and expected headers per task. */
export const MAX_JSON_CONDITIONS = 50;
export const MAX_EXPECTED_HEADERS = 50;
/** Largest PEM bundle a task may trust (`tls.ca`): a handful of certificates. */
export const MAX_CA_CHARS = 65_536;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export const maxLatencySchema = wholeNumberSchema('milliseconds', 1, 3_600_000, 'one hour').meta({
  description: 'A response slower than this (sending to the end of the body) is down with reason "slow".',
});

export const tlsSchema = closedObject({
  min_days_left: wholeNumberSchema('days', 0, 3650)
    .optional()
    .meta({
      description:
        'A certificate with fewer whole days left is down with reason "cert_expiring", and sends `cert_expiring` once per certificate.',
    }),
  ca: z
    .string({ error: 'must be a string' })
    .max(MAX_CA_CHARS, { error: `must be at most ${MAX_CA_CHARS} characters` })
    .superRefine((pem, ctx) => {
      if (!/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.test(pem)) {
        ctx.addIssue({ code: 'custom', message: 'must be one or more PEM certificates (-----BEGIN CERTIFICATE-----…)' });
      }
    })
    .optional()
    .meta({
      description:
        'PEM certificates of a private CA (or a self-signed certificate) to trust for this task, besides the usual public CAs. Verification is never turned off.',
    }),
}).meta({ description: 'Checks of the https certificate. `cert_expires_at` and `cert_days_left` are reported on every https check.' });

const pointer = z
  .string({ error: 'must be a string' })
  .max(1_000, { error: 'must be at most 1000 characters' })
  .superRefine((value, ctx) => {
    const error = jsonPointerError(value);
    if (error !== null) ctx.addIssue({ code: 'custom', message: error });
  })
  .meta({ description: "JSON pointer (RFC 6901) into the body, such as /queue/depth; '' is the whole body." });

// Any JSON value, null included, but present: a condition without its value is a mistake, not a comparison with null.
const jsonValue = z
  .unknown()
  .refine((value) => value !== undefined, { error: 'is required: any JSON value' })
  .meta({ description: 'Any JSON value; compared by deep equality.' });
const number = z.number({ error: 'must be a number' }).meta({ description: 'Compared as a number.' });

const equality = (op: 'eq' | 'ne') => closedObject({ path: pointer, op: z.literal(op), value: jsonValue });
const ordering = (op: 'lt' | 'lte' | 'gt' | 'gte') => closedObject({ path: pointer, op: z.literal(op), value: number });

/** One JSON condition; the form of `value` depends on `op`. */
export const jsonConditionSchema = z
  .discriminatedUnion(
    'op',
    [
      equality('eq'),
      equality('ne'),
      ordering('lt'),
      ordering('lte'),
      ordering('gt'),
      ordering('gte'),
      closedObject({ path: pointer, op: z.literal('contains'), value: jsonValue }).meta({
        description: 'A string contains the substring `value`, or an array contains an element equal to `value`.',
      }),
      closedObject({
        path: pointer,
        op: z.literal('exists'),
        value: z.boolean({ error: 'must be true or false' }).optional().meta({ description: 'false: must be absent. Default true.' }),
      }),
      closedObject({
        path: pointer,
        op: z.literal('matches'),
        value: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).max(1_000),
        flags: z
          .string({ error: 'must be a string' })
          .regex(REGEX_FLAGS, { error: 'must be a combination of the flags i, m, s, u, v, each at most once' })
          .optional(),
      }).superRefine((condition, ctx) => {
        if (condition.flags !== undefined && !REGEX_FLAGS.test(condition.flags)) return;
        const error = regexError(condition.value, condition.flags);
        if (error !== null) ctx.addIssue({ code: 'custom', path: ['value'], message: error });
      }),
    ],
    { error: `op must be one of ${JSON_OPS.join(', ')}` },
  )
  .meta({ description: 'A condition on the JSON body: the value at `path` compared with `value` by `op`.' });

export const jsonConditionsSchema = z
  .array(jsonConditionSchema)
  .min(1, { error: 'must list at least one condition' })
  .max(MAX_JSON_CONDITIONS, { error: `must list at most ${MAX_JSON_CONDITIONS} conditions` })
  .meta({
    description: `Conditions on the JSON body, all of which must hold; ops ${JSON_OPS.join(', ')}. Each failing one is named in json_failures.`,
  });

export const expectHeadersSchema = z
  .record(
    z.string(),
    z.union([z.string({ error: 'must be a string' }).max(8192, { error: 'must be at most 8192 characters' }), regexObjectSchema('A pattern the value must match.')], {
      error: 'must be the exact value as a string, or {"regex": "…", "flags": "i"}',
    }),
  )
  .superRefine((headers, ctx) => {
    const names = Object.keys(headers);
    if (names.length > MAX_EXPECTED_HEADERS) ctx.addIssue({ code: 'custom', message: `must have at most ${MAX_EXPECTED_HEADERS} headers` });
    const seen = new Set<string>();
    for (const name of names) {
      if (!HEADER_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'is not a valid header name' });
      else if (seen.has(name.toLowerCase())) ctx.addIssue({ code: 'custom', path: [name], message: 'is listed twice (header names ignore case)' });
      seen.add(name.toLowerCase());
    }
  })
  .meta({
    description:
      'Response headers that must be present, name (any case) → exact value, or {"regex", "flags"} for a pattern. Each mismatch is named in header_failures.',
  });

export type JsonCondition = z.output<typeof jsonConditionSchema>;
export type TlsSpec = z.output<typeof tlsSchema>;
export type ExpectHeaders = z.output<typeof expectHeadersSchema>;
