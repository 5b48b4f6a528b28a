import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import { OutboundNetworkError } from '../outbound/errors.js';
import type { OutboundPolicy } from '../outbound/outbound-policy.js';
import { type OutboundResponse, outboundRequest } from '../outbound/outbound-request.js';
import { bodyMatches, describeMatcher, toBodyMatcher } from './body-match.js';
import { detectNewItems, extractItems, MAX_SEEN_IDS } from './new-items.js';
import type { ExpectStatus, HttpPayload } from './payload-schema.js';

/** The transitions a check reports, and that notifications subscribe to (`notify.on`). */
export const HTTP_EVENTS = ['down', 'up', 'changed', 'new_items'] as const;
export type HttpEvent = (typeof HTTP_EVENTS)[number];

/**
 * What one task remembers between runs: the state after its last successful run (an attempt that resolved,
 * whether the target was up or down). Stored as JSON by the store and handed to the next run.
 */
export interface HttpCheckMemory {
  /** `content_hash` of the last body seen while the target was up. */
  hash?: string;
  /** Whether the target was up; absent before the first run. */
  up?: boolean;
  /** Item ids seen, most recent first, at most 5,000; absent until the feed was first read (the baseline). */
  seen_ids?: string[];
}

/** Validates a stored memory. Unknown keys are ignored, so older or newer processes can share a store. */
export const httpMemorySchema = z.object({
  hash: z.string().optional(),
  up: z.boolean().optional(),
  seen_ids: z.array(z.string()).max(MAX_SEEN_IDS).optional(),
});

/**
 * A stored memory as {@link HttpCheckMemory}, or null when there is none or it is unreadable. Unreadable memory is
 * treated as none (the next run is a baseline) rather than failing every run of the task forever.
 */
export function parseHttpMemory(value: unknown): HttpCheckMemory | null {
  if (value === null || value === undefined) return null;
  const parsed = httpMemorySchema.safeParse(value);
  if (!parsed.success) return null;
  const memory: HttpCheckMemory = {};
  if (parsed.data.hash !== undefined) memory.hash = parsed.data.hash;
  if (parsed.data.up !== undefined) memory.up = parsed.data.up;
  if (parsed.data.seen_ids !== undefined) memory.seen_ids = parsed.data.seen_ids;
  return memory;
}

/** The run's output: what the API shows for a run of an `http` task. */
export interface HttpCheckOutput {
  up: boolean;
  /** Why the target is down; present exactly when `up` is false. */
  reason?: string;
  /** The final response's status; null when no response arrived. */
  status_code: number | null;
  /** From sending the request to the end of the body read, redirects included. */
  latency_ms: number;
  /** Body bytes read (at most `max_body_bytes`). */
  bytes: number;
  truncated: boolean;
  /** sha256 hex of the bytes read; null when no response arrived. */
  content_hash: string | null;
  /** The body differs from the last one seen while up. False on the first run, and while down. */
  changed: boolean;
  /** Redirects followed, and where they led, when there were any. */
  redirects?: number;
  final_url?: string;
  /** With `payload.items`, when the target is up and the items could be read. */
  new_items?: { count: number; first: unknown[] };
  /** With `payload.items`, when the target is up but its items could not be read. */
  items_error?: string;
  /** Transitions since the previous run, in the order of {@link HTTP_EVENTS}. */
  events: HttpEvent[];
}

export interface HttpCheckResult {
  output: HttpCheckOutput;
  /** To store for the task, replacing the memory passed in, when the run is recorded as succeeded. */
  memory: HttpCheckMemory;
}

export interface HttpCheckDeps {
  /** The task's own signal (its timeout, a lost lease, shutdown). Its abort is rethrown, never reported as down. */
  signal: AbortSignal;
  /** The task's `timeout_ms`; the request timeout is derived from it. */
  timeoutMs: number;
  policy: OutboundPolicy;
  /** The memory of the task's previous successful run, or null for none. */
  memory: HttpCheckMemory | null;
}

/**
 * The request timeout for a task: `request_timeout_ms`, at most max(timeout_ms − 500, timeout_ms × 0.9). The cap
 * leaves the check time to report "timed out" as a down result before the task's own timeout ends the attempt
 * as failed, which is what a slow target must not cause.
 */
export function requestTimeoutFor(requestTimeoutMs: number | undefined, taskTimeoutMs: number): number {
  const cap = Math.max(1, Math.floor(Math.max(taskTimeoutMs - 500, taskTimeoutMs * 0.9)));
  return requestTimeoutMs === undefined ? cap : Math.min(requestTimeoutMs, cap);
}

/**
 * Runs one `http` check: the request, the status and body checks, change and new-item detection, and the events
 * since the previous run.
 *
 * A target that is down is a result: a status outside `expect_status`, a body that does not match, a network
 * error, or the request's own timeout all resolve with `up: false` and a `reason`. Only errors of the check itself
 * reject, so that they fail the attempt and are retried and dead-lettered:
 * - `DeniedAddressError` (the URL, or a redirect, leads to a denied address; nothing was sent to it);
 * - `RedirectError` (a loop, too many redirects, a redirect to another scheme: the task is misconfigured);
 * - `RegexTimeoutError` (the task's `match.regex` backtracks catastrophically);
 * - the reason of `deps.signal` when the task's own timeout or shutdown aborts it;
 * - anything else unexpected (a bug).
 */
export async function runHttpCheck(payload: HttpPayload, deps: HttpCheckDeps): Promise<HttpCheckResult> {
  const { signal, memory } = deps;
  signal.throwIfAborted();
  const requestTimeoutMs = requestTimeoutFor(payload.request_timeout_ms, deps.timeoutMs);
  const requestTimeout = new AbortController();
  const timer = setTimeout(() => requestTimeout.abort(new Error(`request timed out after ${requestTimeoutMs} ms`)), requestTimeoutMs);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);

  let response: OutboundResponse;
  try {
    response = await outboundRequest({
      url: payload.url,
      method: payload.method,
      // Ours first, so that a task's own User-Agent (in any letter case) replaces it.
      headers: { 'user-agent': 'vigil', ...payload.headers },
      ...(payload.body === undefined ? {} : { body: payload.body }),
      signal: AbortSignal.any([signal, requestTimeout.signal]),
      maxBodyBytes: payload.max_body_bytes,
      policy: deps.policy,
    });
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    if (requestTimeout.signal.aborted) return down(`request timed out after ${requestTimeoutMs} ms`, elapsed(), memory);
    if (err instanceof OutboundNetworkError) return down(`network error: ${err.message}`, elapsed(), memory);
    throw err;
  } finally {
    clearTimeout(timer);
  }
  const latency = elapsed();

  const contentHash = createHash('sha256').update(response.body).digest('hex');
  const reason = downReason(payload, response);
  const up = reason === undefined;
  const changed = up && memory?.hash !== undefined && memory.hash !== contentHash;

  const output: HttpCheckOutput = {
    up,
    ...(reason === undefined ? {} : { reason }),
    status_code: response.status,
    latency_ms: latency,
    bytes: response.bytes,
    truncated: response.truncated,
    content_hash: contentHash,
    changed,
    ...(response.redirects > 0 ? { redirects: response.redirects, final_url: response.finalUrl } : {}),
    events: [],
  };
  // While down, the body is an error page: it is neither the content to compare later nor a feed to read.
  const next: HttpCheckMemory = { ...carriedMemory(memory), up };
  if (up) next.hash = contentHash;

  let newCount = 0;
  if (payload.items !== undefined && up) {
    const extraction = extractItems(response.body, payload.items, response.truncated);
    if (extraction.ok) {
      const detected = detectNewItems(extraction.items, memory?.seen_ids);
      output.new_items = { count: detected.count, first: detected.first };
      next.seen_ids = detected.seenIds;
      newCount = detected.count;
    } else {
      // Up or down is decided by status and match; an unreadable feed is shown, and the last ids are kept.
      output.items_error = extraction.error;
    }
  }
  output.events = eventsFor(memory?.up, up, changed, newCount);
  return { output, memory: next };
}

/** Why the response counts as down, or undefined when it is up. */
function downReason(payload: HttpPayload, response: OutboundResponse): string | undefined {
  if (!statusExpected(payload.expect_status, response.status)) {
    return `status ${response.status} not in ${describeExpectStatus(payload.expect_status)}`;
  }
  if (payload.match === undefined) return undefined;
  const matcher = toBodyMatcher(payload.match);
  if (bodyMatches(response.body.toString('utf8'), matcher)) return undefined;
  const within = response.truncated ? ` (in the first ${response.bytes} bytes read)` : '';
  return `body does not match ${describeMatcher(matcher)}${within}`;
}

function statusExpected(expect: ExpectStatus, status: number): boolean {
  return Array.isArray(expect) ? expect.includes(status) : status >= expect.min && status <= expect.max;
}

/** `200-399` for a range, `[200, 204]` for a list. */
export function describeExpectStatus(expect: ExpectStatus): string {
  return Array.isArray(expect) ? `[${expect.join(', ')}]` : `${expect.min}-${expect.max}`;
}

/** A result with no response at all: a network error or the request timeout. */
function down(reason: string, latency: number, memory: HttpCheckMemory | null): HttpCheckResult {
  const output: HttpCheckOutput = {
    up: false,
    reason,
    status_code: null,
    latency_ms: latency,
    bytes: 0,
    truncated: false,
    content_hash: null,
    changed: false,
    events: eventsFor(memory?.up, false, false, 0),
  };
  return { output, memory: { ...carriedMemory(memory), up: false } };
}

/** The parts of the previous memory that a run keeps unless it replaces them. */
function carriedMemory(memory: HttpCheckMemory | null): HttpCheckMemory {
  const kept: HttpCheckMemory = {};
  if (memory?.hash !== undefined) kept.hash = memory.hash;
  if (memory?.seen_ids !== undefined) kept.seen_ids = memory.seen_ids;
  return kept;
}

/**
 * Only transitions: `down` when the target was up or never checked and is down now (a monitor that starts out
 * down says so once); `up` when it was down and is up again (a first run that is up is not news). A target that
 * stays down reports nothing more, because the memory carries `up: false`.
 */
function eventsFor(previousUp: boolean | undefined, up: boolean, changed: boolean, newItems: number): HttpEvent[] {
  const events: HttpEvent[] = [];
  if (!up && previousUp !== false) events.push('down');
  if (up && previousUp === false) events.push('up');
  if (changed) events.push('changed');
  if (newItems > 0) events.push('new_items');
  return events;
}
