import { createHash } from 'node:crypto';
import { ApiError, ValidationError } from './errors.js';

/** The request header that makes `POST /tasks` safe to retry (G1). */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';

/** Set on a create that returned the task an earlier request with the same key made. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';

const MAX_KEY_LENGTH = 200;

/**
 * The idempotency key of a request, or null when it has none. A present but empty or overlong key is an error
 * rather than "no key", because silently creating a second task is exactly what the client sent the key to avoid.
 */
export function readIdempotencyKey(headerValue: string | undefined): string | null {
  if (headerValue === undefined) return null;
  if (headerValue.length < 1 || headerValue.length > MAX_KEY_LENGTH) {
    throw new ValidationError({ [IDEMPOTENCY_HEADER]: `must be 1 to ${MAX_KEY_LENGTH} characters` });
  }
  return headerValue;
}

/**
 * sha256 (hex) of the body in canonical form: object keys sorted at every depth, no whitespace. Two bodies that
 * differ only in key order or formatting are the same request.
 */
export function requestHash(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

/** JSON with object keys sorted at every depth, so that equal values always serialise to equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    // fromEntries defines own properties, so a "__proto__" key from JSON stays a key instead of a prototype.
    const record = value as Record<string, unknown>;
    return Object.fromEntries(Object.keys(record).sort().map((key) => [key, sortKeys(record[key])]));
  }
  return value;
}

/** The key was used before, by a request with a different body. */
export function idempotencyConflict(): ApiError {
  return new ApiError('idempotency_conflict', `this ${IDEMPOTENCY_HEADER} was already used with a different request body`, {
    fields: { [IDEMPOTENCY_HEADER]: 'was already used with a different request body' },
  });
}
