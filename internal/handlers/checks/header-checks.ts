import { boundedRegexTest } from './bounded-regex.js';
import type { ExpectHeaders } from './checks-schema.js';

/** Response headers as undici and the browser give them: lower-case names, repeated headers as arrays. */
export type ResponseHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** A header that is missing or does not have the expected value. */
export interface HeaderFailure {
  /** As written in `expect_headers`. */
  name: string;
  /** The exact value, or `/pattern/flags`. */
  expected: string;
  /** What the response carried (repeated headers joined with `, `), shortened; null when it had none. */
  actual: string | null;
}

const MAX_ACTUAL_CHARS = 200;

/**
 * Checks `expect_headers` against a response's headers; returns the mismatches in the order written. Names ignore
 * case. An exact value must equal one of the header's values, or all of them joined by `, ` (how HTTP folds a
 * repeated header); a pattern is tested on that joined text, under a time limit.
 *
 * @throws {RegexTimeoutError} a pattern ran past its time limit.
 */
export function evaluateHeaders(headers: ResponseHeaders, expected: ExpectHeaders): HeaderFailure[] {
  const lower = new Map<string, string[]>();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    lower.set(name.toLowerCase(), Array.isArray(value) ? value : [value]);
  }
  const failures: HeaderFailure[] = [];
  for (const [name, want] of Object.entries(expected)) {
    const values = lower.get(name.toLowerCase());
    const joined = values?.join(', ');
    const wanted = typeof want === 'string' ? want : `/${want.regex}/${want.flags ?? ''}`;
    let ok = false;
    if (values !== undefined && joined !== undefined) {
      ok =
        typeof want === 'string'
          ? values.includes(want) || joined === want
          : boundedRegexTest({ pattern: want.regex, flags: want.flags ?? '', field: `payload.expect_headers.${name}.regex` }, joined);
    }
    if (!ok) failures.push({ name, expected: wanted, actual: joined === undefined ? null : shorten(joined) });
  }
  return failures;
}

function shorten(text: string): string {
  return text.length > MAX_ACTUAL_CHARS ? `${text.slice(0, MAX_ACTUAL_CHARS - 1)}…` : text;
}
