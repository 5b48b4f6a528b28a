import { createHmac, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { isOutboundError } from './errors.js';
import type { OutboundPolicy } from './outbound-policy.js';
import { outboundRequest } from './outbound-request.js';

/** The header that carries the body's HMAC, as `sha256=<hex>`. */
export const SIGNATURE_HEADER = 'X-Vigil-Signature';
/** Default for {@link DeliverWebhookOptions.timeoutMs}. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
/** Bytes of the receiver's answer read (and thrown away); enough to keep the connection healthy, never more. */
const RESPONSE_BYTES_READ = 16 * 1024;

export interface DeliverWebhookOptions {
  /** The receiver: an http or https URL, checked against the same outbound policy as the `http` check. */
  url: string;
  /** Serialised once with `JSON.stringify`; the signature covers exactly the bytes sent. */
  body: object;
  /** `APP_WEBHOOK_SECRET`. When set, the body is signed in {@link SIGNATURE_HEADER}. */
  secret?: string | undefined;
  /** Extra request headers (an `Authorization` for a chat service, say). Content type and signature are ours. */
  headers?: Readonly<Record<string, string>>;
  policy: OutboundPolicy;
  /** Aborting it ends the delivery and rethrows the reason (shutdown); the only way this function throws. */
  signal?: AbortSignal;
  /** The delivery's own timeout, reported as a failed delivery. Default 10,000 ms. */
  timeoutMs?: number;
}

/** The outcome of one delivery attempt, ready to be recorded. */
export interface WebhookDelivery {
  /** The receiver answered 2xx. */
  ok: boolean;
  /** The receiver's status, or null when there was no answer. */
  status_code: number | null;
  /** Why the delivery failed, or null when `ok`. */
  error: string | null;
  duration_ms: number;
  /** The start of the receiver's answer (at most 1,000 characters), or null when there was no answer. */
  response: string | null;
}

/** Characters of the receiver's answer kept in {@link WebhookDelivery.response}. */
const RESPONSE_CHARS_KEPT = 1000;

/**
 * POSTs `body` as JSON to a webhook receiver, once. Retrying with backoff and recording each attempt is the
 * caller's job (the notification outbox): this function only reports what happened.
 *
 * It never throws for a failed delivery (a refused connection, a timeout, a non-2xx answer, a denied address, a
 * redirect): a notification must not fail the run that caused it. Only an abort of `signal` is rethrown, so that
 * a stopping process does not record a delivery it cut short as failed.
 *
 * Redirects are not followed: re-posting a signed body to wherever a receiver points is not what the operator
 * configured, and a receiver that moved should show up as failing (its 3xx status is the error).
 */
export async function deliverWebhook(options: DeliverWebhookOptions): Promise<WebhookDelivery> {
  const { signal } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  const json = JSON.stringify(options.body);
  const bytes = Buffer.from(json, 'utf8');
  const headers: Record<string, string> = { 'user-agent': 'vigil' };
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  headers['content-type'] = 'application/json';
  if (options.secret !== undefined && options.secret !== '') headers[SIGNATURE_HEADER.toLowerCase()] = signBody(options.secret, bytes);

  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  const combined = signal === undefined ? timeout.signal : AbortSignal.any([signal, timeout.signal]);
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const response = await outboundRequest({
      url: options.url,
      method: 'POST',
      headers,
      body: bytes,
      signal: combined,
      maxRedirects: 0,
      maxBodyBytes: RESPONSE_BYTES_READ,
      policy: options.policy,
    });
    const ok = response.status >= 200 && response.status < 300;
    const answer = response.body.toString('utf8').slice(0, RESPONSE_CHARS_KEPT);
    return {
      ok,
      status_code: response.status,
      error: ok ? null : `receiver answered ${response.status}`,
      duration_ms: elapsed(),
      response: answer,
    };
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    if (timeout.signal.aborted) {
      return { ok: false, status_code: null, error: `timed out after ${timeoutMs} ms`, duration_ms: elapsed(), response: null };
    }
    const message = err instanceof Error ? err.message : String(err);
    const error = isOutboundError(err) ? message : `${err instanceof Error ? err.name : 'Error'}: ${message}`;
    return { ok: false, status_code: null, error, duration_ms: elapsed(), response: null };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The signature header value for a body: `sha256=` and the hex HMAC-SHA256 of its exact bytes (a string is taken as
 * UTF-8). Receivers compute the same over the raw request body, before any JSON parsing.
 */
export function signBody(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Whether `header` is a valid signature of `body` under `secret`. Compares in constant time, so a receiver does not
 * leak how much of a forged signature was right. A missing or malformed header is simply not valid.
 */
export function verifySignature(secret: string, body: string | Uint8Array, header: string | null | undefined): boolean {
  if (typeof header !== 'string') return false;
  const m = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (m === null || m[1] === undefined) return false;
  const given = Buffer.from(m[1].toLowerCase(), 'hex');
  const expected = createHmac('sha256', secret).update(body).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}
