import { isDeepStrictEqual } from 'node:util';
import { resolveJsonPointer } from '../http/json-pointer.js';
import { boundedRegexTest } from './bounded-regex.js';
import type { JsonCondition } from './checks-schema.js';

/** A condition that did not hold, as the run output names it. */
export interface JsonConditionFailure {
  /** Its position in `payload.json`. */
  index: number;
  path: string;
  op: JsonCondition['op'];
  /** What the condition expected (absent for `exists`). */
  expected?: unknown;
  /** What the body held there, shortened; absent when nothing was there. */
  actual?: unknown;
  /** One line: `/status is "degraded", expected eq "ok"`. */
  message: string;
}

/** Longest JSON text of a value quoted in a failure. */
const MAX_QUOTED_CHARS = 200;

/**
 * Evaluates every condition on a JSON body and returns those that fail, in order. A pure function of the body.
 * A body that is not JSON (or was cut short) fails every condition, each saying why.
 *
 * - `eq` / `ne`: deep equality of JSON values (`1` and `1.0` are equal; key order does not matter);
 * - `lt`, `lte`, `gt`, `gte`: the value must be a number;
 * - `contains`: a string holds the substring, or an array holds an element equal to `value`;
 * - `exists`: something (even null) is at the path; with `value: false`, nothing is;
 * - `matches`: a string (or the text of a number or boolean) matches the regex, run under a time limit.
 * A path that leads nowhere fails every op but `exists: false`.
 *
 * @throws {RegexTimeoutError} a `matches` pattern ran past its time limit (an error of the task, not the target).
 */
export function evaluateJsonConditions(body: Buffer, truncated: boolean, conditions: readonly JsonCondition[]): JsonConditionFailure[] {
  let document: unknown;
  let unreadable: string | undefined;
  if (truncated) {
    unreadable = `body was cut at max_body_bytes (${body.length} bytes)`;
  } else {
    try {
      document = JSON.parse(body.toString('utf8'));
    } catch {
      unreadable = 'body is not JSON';
    }
  }
  const failures: JsonConditionFailure[] = [];
  conditions.forEach((condition, index) => {
    const base = { index, path: condition.path, op: condition.op, ...expectedOf(condition) };
    if (unreadable !== undefined) {
      failures.push({ ...base, message: `${unreadable}, so ${describe(condition)} cannot hold` });
      return;
    }
    const found = resolveJsonPointer(document, condition.path);
    const why = failureOf(condition, found.found ? { value: found.value } : undefined, index);
    if (why === null) return;
    failures.push({ ...base, ...(found.found ? { actual: shorten(found.value) } : {}), message: why });
  });
  return failures;
}

/** Why `condition` fails for the value found (undefined: nothing at the path), or null when it holds. */
function failureOf(condition: JsonCondition, found: { value: unknown } | undefined, index: number): string | null {
  const at = condition.path === '' ? 'the body' : condition.path;
  if (condition.op === 'exists') {
    const want = condition.value ?? true;
    if ((found !== undefined) === want) return null;
    return want ? `nothing at ${at}, expected it to exist` : `${at} is ${quote(found?.value)}, expected it not to exist`;
  }
  if (found === undefined) return `nothing at ${at}, expected ${describe(condition)}`;
  const { value } = found;
  const miss = `${at} is ${quote(value)}, expected ${describe(condition)}`;
  switch (condition.op) {
    case 'eq':
      return isDeepStrictEqual(value, condition.value) ? null : miss;
    case 'ne':
      return isDeepStrictEqual(value, condition.value) ? miss : null;
    case 'lt':
    case 'lte':
    case 'gt':
    case 'gte': {
      if (typeof value !== 'number') return `${at} is ${quote(value)}, not a number, expected ${describe(condition)}`;
      return compare(condition.op, value, condition.value) ? null : miss;
    }
    case 'contains': {
      if (typeof value === 'string') {
        if (typeof condition.value !== 'string') return `${at} is a string, expected ${describe(condition)} (a string contains only strings)`;
        return value.includes(condition.value) ? null : miss;
      }
      if (Array.isArray(value)) return value.some((element) => isDeepStrictEqual(element, condition.value)) ? null : miss;
      return `${at} is ${quote(value)}, neither a string nor an array, expected ${describe(condition)}`;
    }
    case 'matches': {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        return `${at} is ${quote(value)}, not a string, expected ${describe(condition)}`;
      }
      const pattern = { pattern: condition.value, flags: condition.flags ?? '', field: `payload.json.${index}.value` };
      return boundedRegexTest(pattern, String(value)) ? null : miss;
    }
  }
}

function compare(op: 'lt' | 'lte' | 'gt' | 'gte', actual: number, expected: number): boolean {
  switch (op) {
    case 'lt':
      return actual < expected;
    case 'lte':
      return actual <= expected;
    case 'gt':
      return actual > expected;
    case 'gte':
      return actual >= expected;
  }
}

function expectedOf(condition: JsonCondition): { expected?: unknown } {
  if (condition.op === 'exists') return {};
  return { expected: shorten(condition.value) };
}

/** `eq "ok"`, `lt 100`, `matches /^ok$/i`, `exists`. */
export function describe(condition: JsonCondition): string {
  switch (condition.op) {
    case 'exists':
      return condition.value === false ? 'not exists' : 'exists';
    case 'matches':
      return `matches /${condition.value}/${condition.flags ?? ''}`;
    default:
      return `${condition.op} ${quote(condition.value)}`;
  }
}

function quote(value: unknown): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > MAX_QUOTED_CHARS ? `${text.slice(0, MAX_QUOTED_CHARS - 1)}…` : text;
}

/** A value as it may appear in an output: itself when small, else its JSON text shortened. */
function shorten(value: unknown): unknown {
  const text = JSON.stringify(value) ?? 'null';
  return text.length > MAX_QUOTED_CHARS ? `${text.slice(0, MAX_QUOTED_CHARS - 1)}…` : value;
}
