import type { ExpectStatus, MatchSpec } from '../http/payload-schema.js';
import { bodyMatches, describeMatcher, toBodyMatcher } from '../http/body-match.js';
import type { OutboundResponse } from '../outbound/outbound-request.js';
import type { ExpectHeaders, JsonCondition, TlsSpec } from './checks-schema.js';
import { evaluateHeaders, type HeaderFailure, type ResponseHeaders } from './header-checks.js';
import { evaluateJsonConditions, type JsonConditionFailure } from './json-conditions.js';
import { type CertFacts, certExpiring } from './tls-expiry.js';

/** The checks a payload may ask for, shared by the `http` and `browser` types. */
export interface CheckSpecs {
  expect_status: ExpectStatus;
  match?: MatchSpec | undefined;
  expect_headers?: ExpectHeaders | undefined;
  json?: readonly JsonCondition[] | undefined;
  max_latency_ms?: number | undefined;
  tls?: TlsSpec | undefined;
}

/** What was seen of the target, for the checks to judge. */
export interface ResponseFacts {
  status: number;
  headers: ResponseHeaders;
  /** The body the JSON conditions read (for `browser`, the page's own response). */
  body: Buffer;
  truncated: boolean;
  /** The text `match` is tested on (for `http` the body; for `browser` the rendered page). */
  matchText: () => string;
  /** Bytes read, for the message of a match that failed on a cut body. */
  bytes: number;
  latencyMs: number;
  /** The https target's certificate; null for plain http, or when no TLS connection carried the final response. */
  cert: CertFacts | null;
}

/** The facts of an outbound response; the type adds what it sees its own way: the match text, latency, certificate. */
export function responseFacts(response: OutboundResponse, seen: Pick<ResponseFacts, 'matchText' | 'latencyMs' | 'cert'>): ResponseFacts {
  const { status, headers, body, truncated, bytes } = response;
  return { status, headers, body, truncated, bytes, ...seen };
}

/** Short, stable reasons of the checks beyond status and match (whose reasons are sentences, as before). */
export type CheckReason = 'header_mismatch' | 'json_condition' | 'slow' | 'cert_expiring';

export interface Verdict {
  /** Why the target is down, when it is: the first failing check, in the order status, match, headers, JSON, latency, TLS. */
  reason?: string;
  /** A sentence explaining a short `reason`. */
  detail?: string;
  /** Every failing JSON condition, when any fails. */
  json_failures?: JsonConditionFailure[];
  /** Every expected header that is missing or different, when any is. */
  header_failures?: HeaderFailure[];
}

/**
 * Judges a response against the task's checks. Every check runs, so that the output names every failing condition
 * and header, but `reason` is the first failure only, in a fixed order.
 *
 * @throws {RegexTimeoutError} a pattern of the task ran past its time limit.
 */
export function judge(specs: CheckSpecs, facts: ResponseFacts): Verdict {
  const verdict: Verdict = {};
  const fail = (reason: string, detail?: string) => {
    if (verdict.reason !== undefined) return;
    verdict.reason = reason;
    if (detail !== undefined) verdict.detail = detail;
  };
  if (!statusExpected(specs.expect_status, facts.status)) {
    fail(`status ${facts.status} not in ${describeExpectStatus(specs.expect_status)}`);
  }
  if (specs.match !== undefined) {
    const matcher = toBodyMatcher(specs.match);
    if (!bodyMatches(facts.matchText(), matcher)) {
      const within = facts.truncated ? ` (in the first ${facts.bytes} bytes read)` : '';
      fail(`body does not match ${describeMatcher(matcher)}${within}`);
    }
  }
  if (specs.expect_headers !== undefined) {
    const failures = evaluateHeaders(facts.headers, specs.expect_headers);
    if (failures.length > 0) {
      verdict.header_failures = failures;
      fail('header_mismatch', failures.map((f) => (f.actual === null ? `${f.name} is missing` : `${f.name} is ${JSON.stringify(f.actual)}, expected ${f.expected}`)).join('; '));
    }
  }
  if (specs.json !== undefined) {
    const failures = evaluateJsonConditions(facts.body, facts.truncated, specs.json);
    if (failures.length > 0) {
      verdict.json_failures = failures;
      fail('json_condition', failures.map((f) => f.message).join('; '));
    }
  }
  if (specs.max_latency_ms !== undefined && facts.latencyMs > specs.max_latency_ms) {
    fail('slow', `took ${facts.latencyMs} ms, over max_latency_ms ${specs.max_latency_ms}`);
  }
  if (facts.cert !== null && certExpiring(facts.cert, specs.tls?.min_days_left)) {
    fail(
      'cert_expiring',
      `certificate expires ${facts.cert.expiresAt.toISOString()}, in ${facts.cert.daysLeft} days, under tls.min_days_left ${specs.tls?.min_days_left}`,
    );
  }
  return verdict;
}

export function statusExpected(expect: ExpectStatus, status: number): boolean {
  return Array.isArray(expect) ? expect.includes(status) : status >= expect.min && status <= expect.max;
}

/** `200-399` for a range, `[200, 204]` for a list. */
export function describeExpectStatus(expect: ExpectStatus): string {
  return Array.isArray(expect) ? `[${expect.join(', ')}]` : `${expect.min}-${expect.max}`;
}
