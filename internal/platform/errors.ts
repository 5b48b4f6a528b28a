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
