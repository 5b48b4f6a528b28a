/**
 * The shape of the project's own errors: a machine-readable `code` (a string-literal union of the subclass) and the
 * `cause`, so that a caller branches on the code and a log keeps the original error.
 */
export class CodedError<C extends string> extends Error {
  constructor(
    readonly code: C,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  /** Whether `err` is an error of this class (and has `code`, when given): `StoreError.is(err, 'busy')`. */
  static is<E extends CodedError<string>>(this: new (...args: never[]) => E, err: unknown, code?: E['code']): err is E {
    return err instanceof this && (code === undefined || err.code === code);
  }
}

/** Normalises anything thrown into an Error, so that logging and wrapping never see a bare string or object. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (typeof value === 'string') return new Error(value);
  try {
    return new Error(JSON.stringify(value));
  } catch {
    return new Error(String(value));
  }
}

/** A short, single-line description of an error for storing on a run or a dead letter. */
export function errorMessage(value: unknown, max = 2000): string {
  const err = toError(value);
  const text = err.message || err.name;
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
