import { z } from 'zod';
import { hostLimitSchema } from '../host-limit.js';
import { expectHeadersSchema, maxLatencySchema, tlsSchema } from '../checks/checks-schema.js';
import {
  DEFAULT_EXPECT_STATUS,
  expectStatusSchema,
  headersSchema,
  MAX_MAX_BODY_BYTES,
  MAX_REQUEST_TIMEOUT_MS,
  matchSchema,
  urlSchema,
} from '../http/payload-schema.js';
import { cssSelectorSchema, htmlOnlyItemsSchema } from '../items/items-schema.js';
import { closedObject, keyedUnion, wholeNumberSchema } from '../schema-helpers.js';

/** Default bytes kept of each response the page loads: 4 MiB, enough for the scripts of most listing pages. */
export const DEFAULT_BROWSER_MAX_BODY_BYTES = 4 * 1_048_576;
/** Largest `wait_for.delay_ms`: one minute. */
export const MAX_WAIT_DELAY_MS = 60_000;

const waitForSchema = keyedUnion<{ selector: string } | { delay_ms: number }>(
  [
    { key: 'selector', schema: closedObject({ selector: cssSelectorSchema }) },
    {
      key: 'delay_ms',
      schema: closedObject({
        delay_ms: wholeNumberSchema('milliseconds', 0, MAX_WAIT_DELAY_MS, 'one minute'),
      }),
    },
  ],
  'must be {"selector": "li.item"} (wait until it is in the page) or {"delay_ms": 2000} (wait that long after load)',
).meta({
  description:
    'What to wait for after the load event before reading the page: a CSS selector to appear (a page that never shows it is down, reason wait_for_timeout), or a fixed delay.',
});

/**
 * The payload of a `browser` task: the `http` payload's URL, expectations and checks where they apply to a page a
 * browser renders (no method or body: a page is a GET; no JSON conditions: a page is HTML), HTML items by selector,
 * and `wait_for`.
 */
export const browserPayloadSchema = closedObject({
  url: urlSchema,
  headers: headersSchema.optional().meta({ description: "Headers sent with the page's own request (not with what the page loads)." }),
  expect_status: expectStatusSchema.default({ ...DEFAULT_EXPECT_STATUS }),
  match: matchSchema.optional().meta({ description: 'What the rendered HTML must contain: a substring or {"regex", "flags"}.' }),
  items: htmlOnlyItemsSchema.optional(),
  wait_for: waitForSchema.optional(),
  max_latency_ms: maxLatencySchema.optional(),
  tls: tlsSchema.optional(),
  expect_headers: expectHeadersSchema.optional(),
  max_body_bytes: wholeNumberSchema('bytes', 1, MAX_MAX_BODY_BYTES, '16 MiB')
    .default(DEFAULT_BROWSER_MAX_BODY_BYTES)
    .meta({ description: 'Bytes kept of each response the page loads; longer ones are cut. Default 4 MiB.' }),
  host_limit: hostLimitSchema.optional(),
  request_timeout_ms: wholeNumberSchema('milliseconds', 1, MAX_REQUEST_TIMEOUT_MS, 'one day')
    .optional()
    .meta({
      description:
        "How long loading and waiting may take. Default, and upper bound: max(timeout_ms - 500, timeout_ms × 0.9) of the task, so a slow page is reported down before the task's timeout ends the attempt.",
    }),
}).meta({ description: 'Renders a page in headless Chromium and checks it: status, rendered HTML, headers, latency, TLS, new items.' });

/** A checked `browser` payload, defaults filled in. */
export type BrowserPayload = z.output<typeof browserPayloadSchema>;
export type BrowserPayloadInput = z.input<typeof browserPayloadSchema>;
