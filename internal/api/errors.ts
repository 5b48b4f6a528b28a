/**
 * Errors the API layer raises itself. Each carries a `code` from a closed set; the HTTP status for each code is
 * decided in exactly one place, the error middleware (`middleware/error-handler.ts`), never where it is thrown.
 */

/**
 * Every `error.code` the API can answer with. Clients branch on these, so they are part of the contract; the
 * response schema's enum is built from this list.
 */
export const API_ERROR_CODES = [
  /** The request is well-formed JSON but a field is wrong; `fields` names each one. */
  'validation_failed',
  /** The body is not parseable JSON. */
  'invalid_json',
  /** The request could not be read (aborted, undecodable URL). */
  'bad_request',
  /** No valid bearer token. */
  'unauthorized',
  /**
   * The token is valid but may not do this (a `read` token asking for a change), or the server refuses it (a
   * change sent by a read-only dashboard).
   */
  'forbidden',
  /** No such route, or no such task. */
  'not_found',
  /** The request collides with the current state of a resource. */
  'conflict',
  /** An `Idempotency-Key` was reused with a different request body. */
  'idempotency_conflict',
  /** The body is larger than the API accepts. */
  'payload_too_large',
  /** The body is not JSON, or not in a charset the API reads. */
  'unsupported_media_type',
  /** Too many requests from this token (or address); `Retry-After` says when to try again. */
  'rate_limited',
  /** The database cannot be reached, or is too busy; retrying later may succeed. */
  'store_unavailable',
  /** Anything unexpected. The message is generic; details go to the log only. */
  'internal',
] as const;

export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** Field path (`schedule.every`, `payload.url`, `Idempotency-Key`, `body`) → what is wrong with it. */
export type FieldErrors = Record<string, string>;

/** An error the API reports to the client as `{"error":{"code","message","fields"}}`. */
export class ApiError extends Error {
  /** Shown to the client (as is the message), so neither may ever contain a secret. */
  readonly fields: FieldErrors | undefined;
  /** Whole seconds the client should wait before trying again; sent as `Retry-After` when set. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
    options: { fields?: FieldErrors | undefined; cause?: unknown; retryAfterSeconds?: number | undefined } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ApiError';
    this.fields = options.fields;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** A request that is understood but invalid. Always names at least one field. */
export class ValidationError extends ApiError {
  constructor(fields: FieldErrors, options: { message?: string; cause?: unknown } = {}) {
    super('validation_failed', options.message ?? describeFields(fields), { fields, cause: options.cause });
    this.name = 'ValidationError';
  }
}

/** A task (or another resource) that does not exist. */
export class NotFoundError extends ApiError {
  constructor(message: string, fields?: FieldErrors) {
    super('not_found', message, { fields });
    this.name = 'NotFoundError';
  }
}

function describeFields(fields: FieldErrors): string {
  const names = Object.keys(fields);
  if (names.length === 0) return 'the request is invalid';
  const shown = names.slice(0, 5).join(', ');
  return `invalid ${names.length === 1 ? 'field' : 'fields'}: ${shown}${names.length > 5 ? ', …' : ''}`;
}

export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError;
}
