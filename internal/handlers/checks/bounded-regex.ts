import { runInNewContext } from 'node:vm';

/** How long one user-written regex may run on one text before the check gives up. */
export const REGEX_TIMEOUT_MS = 250;

/**
 * A task's regex ran longer than {@link REGEX_TIMEOUT_MS}: catastrophic backtracking on this input. It is an error
 * of the check (its pattern), not of the target, so it fails the attempt instead of reporting the target down.
 */
export class RegexTimeoutError extends Error {
  readonly code = 'regex_timeout' as const;

  constructor(
    /** The payload field the pattern came from, such as `payload.match.regex`. */
    readonly field: string,
    pattern: string,
    ms: number,
  ) {
    super(`${field} /${pattern}/ ran longer than ${ms} ms on the response; simplify the pattern`);
    this.name = 'RegexTimeoutError';
  }
}

/**
 * Whether `text` matches the regex. It runs inside `vm` with a timeout because it is user input run on remote
 * input: one pattern with catastrophic backtracking would otherwise stall this process's event loop, and with it
 * every other run in the worker pool. V8 interrupts a running regex when the timeout fires.
 *
 * @throws {RegexTimeoutError} the regex did not finish within `timeoutMs`.
 */
export function boundedRegexTest(
  regex: { pattern: string; flags: string; field: string },
  text: string,
  timeoutMs = REGEX_TIMEOUT_MS,
): boolean {
  const re = new RegExp(regex.pattern, regex.flags);
  try {
    return runInNewContext('re.test(text)', { re, text }, { timeout: timeoutMs }) === true;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw new RegexTimeoutError(regex.field, regex.pattern, timeoutMs);
    throw err;
  }
}
