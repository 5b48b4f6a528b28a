import { z } from 'zod';
import { hostLimitSchema } from '../host-limit.js';
import { expectHeadersSchema, jsonConditionsSchema, maxLatencySchema, tlsSchema } from '../checks/checks-schema.js';
import { itemsSchema } from '../items/items-schema.js';
import { DEFAULT_MAX_BODY_BYTES } from '../outbound/outbound-request.js';
import { closedObject, REGEX_FLAGS, wholeNumberSchema } from '../schema-helpers.js';

/**
 * The payload of an `http` task. Checked when a task is created or changed (a failure is a 400 naming
 * `payload.<field>`) and again before each run. Its parsed output, with defaults filled in, is what the store keeps,
 * so the schema takes its own output back unchanged, and it has no transforms, so `z.toJSONSchema` can describe it
 * for `/openapi.json` (refinements such as "the regex compiles" are left out of the JSON Schema and still run).
 */

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** Largest `max_body_bytes`: 16 MiB. Bodies are held in memory while a check runs. */
export const MAX_MAX_BODY_BYTES = 16 * 1_048_576;
/** Largest `request_timeout_ms`: one day. */
export const MAX_REQUEST_TIMEOUT_MS = 86_400_000;
/** Longest request body kept in a payload: 64 KiB. Payloads live in a database row and in every stream entry. */
export const MAX_REQUEST_BODY_CHARS = 65_536;
export const DEFAULT_EXPECT_STATUS = { min: 200, max: 399 } as const;

/**
 * Headers a task may not set. undici refuses the hop-by-hop ones outright; `host` and `content-length` describe the
 * connection and the body, which are ours to get right (and `host` would be wrong after a cross-origin redirect).
 */
const FORBIDDEN_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'expect', 'te', 'trailer']);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Visible ASCII, spaces and tabs, and non-ASCII; no control characters (CR/LF would split the header). */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\uffff]*$/;
const statusCode = z
  .int({ error: 'must be a whole number' })
  .min(100, { error: 'must be an HTTP status from 100 to 599' })
  .max(599, { error: 'must be an HTTP status from 100 to 599' });

export const urlSchema = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(2048, { error: 'must be at most 2048 characters' })
  .superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute URL such as https://example.com/health' });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: `must use http or https, not ${url.protocol.replace(/:$/, '')}` });
    } else if (url.username !== '' || url.password !== '') {
      // They would be shown in run outputs and logs; a header keeps them out of the URL.
      ctx.addIssue({ code: 'custom', message: 'must not contain credentials; send them in headers.authorization' });
    }
  })
  .meta({ description: 'The URL to check: http or https.', examples: ['https://example.com/health'] });

export const headersSchema = z
  .record(z.string(), z.string({ error: 'must be a string' }).max(8192, { error: 'must be at most 8192 characters' }))
  .superRefine((headers, ctx) => {
    const names = Object.keys(headers);
    if (names.length > 50) ctx.addIssue({ code: 'custom', message: 'must have at most 50 headers' });
    for (const name of names) {
      if (!HEADER_NAME.test(name)) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'is not a valid header name' });
      } else if (FORBIDDEN_HEADERS.has(name.toLowerCase())) {
        ctx.addIssue({ code: 'custom', path: [name], message: `may not be set by a task (${name.toLowerCase()} is managed by the client)` });
      } else if (!HEADER_VALUE.test(headers[name] ?? '')) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'must not contain control characters' });
      }
    }
  })
  .meta({ description: 'Request headers, name → value.' });

export const expectStatusSchema = z
  .union(
    [
      z.array(statusCode).min(1, { error: 'must list at least one status' }).max(100, { error: 'must list at most 100 statuses' }),
      closedObject({ min: statusCode, max: statusCode })
        .refine((range) => range.min <= range.max, { error: 'min must not be greater than max', path: ['max'] }),
    ],
    { error: 'must be a list of statuses like [200, 204] or a range like {"min": 200, "max": 399}' },
  )
  .meta({ description: 'Statuses that count as up: a list, or an inclusive range. Default 200–399.' });

const matchObjectSchema = closedObject({
  substring: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).max(10_000).optional(),
  regex: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).max(1_000).optional(),
  flags: z
    .string({ error: 'must be a string' })
    .regex(REGEX_FLAGS, { error: 'must be a combination of the flags i, m, s, u, v, each at most once' })
    .optional(),
})
  .superRefine((match, ctx) => {
    const kinds = (match.substring === undefined ? 0 : 1) + (match.regex === undefined ? 0 : 1);
    if (kinds !== 1) {
      ctx.addIssue({ code: 'custom', message: 'must have exactly one of substring or regex' });
      return;
    }
    if (match.flags !== undefined && match.regex === undefined) {
      ctx.addIssue({ code: 'custom', path: ['flags'], message: 'only applies to regex' });
    }
    // Bad flags are already reported on `flags`; compiling with them would blame the pattern as well.
    if (match.regex !== undefined && (match.flags === undefined || REGEX_FLAGS.test(match.flags))) {
      try {
        new RegExp(match.regex, match.flags ?? '');
      } catch (err) {
        const why = err instanceof Error ? err.message.replace(/^Invalid regular expression: /, '') : String(err);
        ctx.addIssue({ code: 'custom', path: ['regex'], message: `is not a valid regular expression: ${why}` });
      }
    }
  });

export const matchSchema = z
  .union([z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).max(10_000), matchObjectSchema], {
    error: 'must be a substring, {"substring": "…"}, or {"regex": "…", "flags": "i"}',
  })
  .meta({
    description:
      'What the body must contain: a substring (a bare string is one), or a JavaScript regular expression with optional flags (i, m, s, u, v).',
  });

/** The `http` task payload. */
export const httpPayloadSchema = closedObject({
  url: urlSchema,
  method: z.enum(HTTP_METHODS, { error: `must be one of ${HTTP_METHODS.join(', ')}` }).default('GET'),
  headers: headersSchema.optional(),
  body: z
    .string({ error: 'must be a string' })
    .max(MAX_REQUEST_BODY_CHARS, { error: `must be at most ${MAX_REQUEST_BODY_CHARS} characters` })
    .optional(),
  expect_status: expectStatusSchema.default({ ...DEFAULT_EXPECT_STATUS }),
  match: matchSchema.optional(),
  items: itemsSchema.optional(),
  max_latency_ms: maxLatencySchema.optional(),
  tls: tlsSchema.optional(),
  json: jsonConditionsSchema.optional(),
  expect_headers: expectHeadersSchema.optional(),
  max_body_bytes: wholeNumberSchema('bytes', 1, MAX_MAX_BODY_BYTES, '16 MiB')
    .default(DEFAULT_MAX_BODY_BYTES)
    .meta({ description: 'Bytes of the body read; a longer body is cut there and flagged truncated. Default 1 MiB.' }),
  host_limit: hostLimitSchema.optional(),
  request_timeout_ms: wholeNumberSchema('milliseconds', 1, MAX_REQUEST_TIMEOUT_MS, 'one day')
    .optional()
    .meta({
      description:
        "The request's own timeout. Default, and upper bound: max(timeout_ms - 500, timeout_ms × 0.9) of the task, so the check reports a slow target as down before the task's timeout ends the attempt.",
    }),
})
  .superRefine((payload, ctx) => {
    if (payload.body !== undefined && (payload.method === 'GET' || payload.method === 'HEAD')) {
      ctx.addIssue({ code: 'custom', path: ['body'], message: `is not allowed with ${payload.method}` });
    }
  })
  .meta({
    description:
      'Checks a URL: status, body match, headers, JSON conditions, latency and TLS expiry; content changes and new items (JSON, HTML, feeds).',
  });

/** A checked `http` payload, defaults filled in. */
export type HttpPayload = z.output<typeof httpPayloadSchema>;
/** An `http` payload as a client may write it. */
export type HttpPayloadInput = z.input<typeof httpPayloadSchema>;
export type ExpectStatus = HttpPayload['expect_status'];
export type MatchSpec = NonNullable<HttpPayload['match']>;
