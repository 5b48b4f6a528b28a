import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { buildCheckReport, type CheckReport } from '../checks/check-report.js';
import { carriedMemory, type CheckMemory, checkMemorySchema, parseCheckMemory } from '../checks/check-memory.js';
import { PeerCertificates } from '../checks/tls-expiry.js';
import { responseFacts } from '../checks/verdict.js';
import { eventsFor, NOTIFY_EVENTS, type NotifyEvent } from '../events.js';
import { OutboundNetworkError } from '../outbound/errors.js';
import type { OutboundPolicy } from '../outbound/outbound-policy.js';
import { type OutboundResponse, outboundRequest } from '../outbound/outbound-request.js';
import type { HttpPayload } from './payload-schema.js';
import type { Agent, Dispatcher } from 'undici';

/** The events an `http` check reports: all of {@link NOTIFY_EVENTS}. Kept under its old name for embedders. */
export const HTTP_EVENTS = NOTIFY_EVENTS;
export type HttpEvent = NotifyEvent;

/** What an `http` task remembers between runs (see `CheckMemory`). */
export type HttpCheckMemory = CheckMemory;
export const httpMemorySchema = checkMemorySchema;
export const parseHttpMemory = parseCheckMemory;

/**
 * The run's output: what the API shows for a run of an `http` task. The checks' verdict, change and item
 * detection, certificate facts and events are {@link CheckReport}'s fields.
 */
export interface HttpCheckOutput extends CheckReport {
  /** The final response's status; null when no response arrived. */
  status_code: number | null;
  /** From sending the request to the end of the body read, redirects included. */
  latency_ms: number;
  /** Body bytes read (at most `max_body_bytes`). */
  bytes: number;
  truncated: boolean;
  /** sha256 hex of the bytes read; null when no response arrived. */
  content_hash: string | null;
  /** Redirects followed, and where they led, when there were any. */
  redirects?: number;
  final_url?: string;
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
  /** "Now" for certificate days left; default `Date.now`. */
  now?: () => number;
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
 * Runs one `http` check: the request, every check of the payload (status, body match, headers, JSON conditions,
 * latency, certificate), change and new-item detection, and the events since the previous run.
 *
 * A target that is down is a result: a failing check, a network error (TLS verification included), or the
 * request's own timeout all resolve with `up: false` and a `reason`. Only errors of the check itself reject, so that
 * they fail the attempt and are retried and dead-lettered:
 * - `DeniedAddressError` (the URL, or a redirect, leads to a denied address; nothing was sent to it);
 * - `RedirectError` (a loop, too many redirects, a redirect to another scheme: the task is misconfigured);
 * - `RegexTimeoutError` (a pattern of the task backtracks catastrophically);
 * - the reason of `deps.signal` when the task's own timeout or shutdown aborts it;
 * - anything else unexpected (a bug).
 *
 * Plain `http` hops go through the policy's shared keep-alive pool: most checks of a steady target then cost no
 * connection of their own. `https` hops go through a pool of this run's own (made at the first such hop, closed at
 * the end), so that the target's certificate is read from the handshake of this very run, and a task's `tls.ca` is
 * trusted by that task only.
 */
export async function runHttpCheck(payload: HttpPayload, deps: HttpCheckDeps): Promise<HttpCheckResult> {
  const { signal, memory } = deps;
  const now = deps.now ?? Date.now;
  signal.throwIfAborted();
  const requestTimeoutMs = requestTimeoutFor(payload.request_timeout_ms, deps.timeoutMs);
  const requestTimeout = new AbortController();
  const timer = setTimeout(() => requestTimeout.abort(new Error(`request timed out after ${requestTimeoutMs} ms`)), requestTimeoutMs);
  const certificates = new PeerCertificates();
  let own: Agent | undefined;
  const dispatcher = (hop: URL): Dispatcher =>
    hop.protocol === 'https:'
      ? (own ??= deps.policy.createDispatcher({
          ...(payload.tls?.ca === undefined ? {} : { extraCa: [payload.tls.ca] }),
          onSecureConnect: certificates.record,
        }))
      : deps.policy.dispatcher;
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
      dispatcher,
    });
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    if (requestTimeout.signal.aborted) return down(`request timed out after ${requestTimeoutMs} ms`, elapsed(), memory);
    if (err instanceof OutboundNetworkError) return down(`network error: ${err.message}`, elapsed(), memory);
    throw err;
  } finally {
    clearTimeout(timer);
    // The body has been read whole (or cut); nothing else will use this run's own connections.
    own?.destroy().catch(() => undefined);
  }
  const latency = elapsed();

  const contentHash = createHash('sha256').update(response.body).digest('hex');
  const cert = certificates.factsFor(response.finalUrl, now());
  const { report, memory: next } = buildCheckReport({
    specs: payload,
    facts: responseFacts(response, { matchText: () => response.body.toString('utf8'), latencyMs: latency, cert }),
    contentHash,
    itemsSource: response.body,
    pageUrl: response.finalUrl,
    memory,
  });
  const { up, reason, detail, changed, events, ...rest } = report;
  const output: HttpCheckOutput = {
    up,
    ...(reason === undefined ? {} : { reason }),
    ...(detail === undefined ? {} : { detail }),
    status_code: response.status,
    latency_ms: latency,
    bytes: response.bytes,
    truncated: response.truncated,
    content_hash: contentHash,
    changed,
    ...(response.redirects > 0 ? { redirects: response.redirects, final_url: response.finalUrl } : {}),
    ...rest,
    events,
  };
  return { output, memory: next };
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
    events: eventsFor({ previousUp: memory?.up, up: false, changed: false, newItems: 0, certExpiring: false }),
  };
  return { output, memory: { ...carriedMemory(memory), up: false } };
}

export { describeExpectStatus } from '../checks/verdict.js';
