import { runInNewContext } from 'node:vm';
import type { MatchSpec } from './payload-schema.js';

/** How long a `match.regex` may run on one body before the check gives up. */
export const REGEX_TIMEOUT_MS = 250;

/**
 * A `match.regex` ran longer than {@link REGEX_TIMEOUT_MS}: catastrophic backtracking on this body. It is an error
 * of the check (its pattern), not of the target, so it fails the attempt instead of reporting the target down.
 */
export class RegexTimeoutError extends Error {
  readonly code = 'regex_timeout' as const;

  constructor(pattern: string, ms: number) {
    super(`payload.match.regex /${pattern}/ ran longer than ${ms} ms on the response body; simplify the pattern`);
    this.name = 'RegexTimeoutError';
  }
}

/** A `match` payload in its one canonical form (a bare string is a substring). */
export type BodyMatcher = { kind: 'substring'; substring: string } | { kind: 'regex'; regex: string; flags: string };

export function toBodyMatcher(spec: MatchSpec): BodyMatcher {
  if (typeof spec === 'string') return { kind: 'substring', substring: spec };
  if (spec.regex !== undefined) return { kind: 'regex', regex: spec.regex, flags: spec.flags ?? '' };
  // The schema guarantees exactly one of the two.
  return { kind: 'substring', substring: spec.substring ?? '' };
}

/** How the expectation reads in a `reason`: `substring "ok"` or `regex /^ok$/i`. */
export function describeMatcher(matcher: BodyMatcher): string {
  const text = matcher.kind === 'substring' ? `substring ${JSON.stringify(matcher.substring)}` : `regex /${matcher.regex}/${matcher.flags}`;
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/**
 * Whether `body` (decoded as UTF-8) satisfies the matcher.
 *
 * A regex runs inside `vm` with a timeout because it is user input run on remote input: one pattern with
 * catastrophic backtracking would otherwise stall this process's event loop, and with it every other run in the
 * worker pool. V8 interrupts a running regex when the timeout fires.
 *
 * @throws {RegexTimeoutError} the regex did not finish within `timeoutMs`.
 */
export function bodyMatches(body: string, matcher: BodyMatcher, timeoutMs = REGEX_TIMEOUT_MS): boolean {
  if (matcher.kind === 'substring') return body.includes(matcher.substring);
  const re = new RegExp(matcher.regex, matcher.flags);
  try {
    return runInNewContext('re.test(body)', { re, body }, { timeout: timeoutMs }) === true;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw new RegexTimeoutError(matcher.regex, timeoutMs);
    throw err;
  }
}
