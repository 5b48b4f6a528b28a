import { boundedRegexTest, REGEX_TIMEOUT_MS } from '../checks/bounded-regex.js';
import type { MatchSpec } from './payload-schema.js';

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
 * Whether `body` (decoded as UTF-8) satisfies the matcher. A regex runs under a timeout (see `boundedRegexTest`).
 *
 * @throws {RegexTimeoutError} the regex did not finish within `timeoutMs`.
 */
export function bodyMatches(body: string, matcher: BodyMatcher, timeoutMs = REGEX_TIMEOUT_MS): boolean {
  if (matcher.kind === 'substring') return body.includes(matcher.substring);
  return boundedRegexTest({ pattern: matcher.regex, flags: matcher.flags, field: 'payload.match.regex' }, body, timeoutMs);
}
export { REGEX_TIMEOUT_MS, RegexTimeoutError } from '../checks/bounded-regex.js';
