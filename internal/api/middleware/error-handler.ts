import type { ErrorRequestHandler } from 'express';
import { toError } from '../../platform/errors.js';
import { StoreError } from '../../store/index.js';
import { ApiError, type ApiErrorCode, type FieldErrors } from '../errors.js';
import type { ErrorBody } from '../schemas.js';

/** The HTTP status of every API error code. This table is the only place the API decides a status. */
const STATUS_BY_CODE: Readonly<Record<ApiErrorCode, number>> = {
  validation_failed: 400,
  invalid_json: 400,
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  idempotency_conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  store_unavailable: 503,
  internal: 500,
};

/** Seconds a client should wait before retrying a 503: outages the API sees are usually brief reconnects. */
const RETRY_AFTER_SECONDS = '1';

/**
 * The one error middleware: turns whatever a route or middleware threw into `{"error":{code,message,fields}}`
 * with its status. Only ApiError messages reach the client; store errors get fixed messages (driver text names
 * hosts and tables), and anything else is a generic 500. The original error is attached to the response for the
 * request logger when the status is 5xx, so details go to the log, never to the client.
 */
export function errorHandler(): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    // Too late for a JSON error; Express's default handler closes the connection.
    if (res.headersSent) return next(err);
    const apiError = toApiError(err);
    const status = STATUS_BY_CODE[apiError.code];
    if (status >= 500) res.err = toError(err);
    if (apiError.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(apiError.retryAfterSeconds));
    else if (apiError.code === 'store_unavailable') res.setHeader('Retry-After', RETRY_AFTER_SECONDS);
    if (apiError.code === 'unauthorized') res.setHeader('WWW-Authenticate', 'Bearer realm="vigil"');
    res.status(status).json(errorBody(apiError.code, apiError.message, apiError.fields));
  };
}

/** Builds the error body; exported so that tests and other responders produce exactly the same shape. */
export function errorBody(code: ApiErrorCode, message: string, fields?: FieldErrors): ErrorBody {
  return { error: fields === undefined || Object.keys(fields).length === 0 ? { code, message } : { code, message, fields } };
}

function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof StoreError) return fromStoreError(err);
  const fromHttp = fromHttpError(err);
  if (fromHttp !== undefined) return fromHttp;
  return new ApiError('internal', 'internal error', { cause: err });
}

function fromStoreError(err: StoreError): ApiError {
  switch (err.code) {
    case 'unavailable':
    case 'busy':
      return new ApiError('store_unavailable', 'the database is unavailable; try again shortly', { cause: err });
    case 'conflict':
      return new ApiError('conflict', 'the request conflicts with existing data', { cause: err });
    case 'not_found':
      return new ApiError('not_found', 'a referenced resource does not exist', { cause: err });
    case 'invalid':
    case 'internal':
      return new ApiError('internal', 'internal error', { cause: err });
  }
}

/**
 * Errors Express itself raises carry an http-errors `status` (for example 400 for an undecodable path). Client
 * errors keep their status class; their messages are replaced, since they may quote the request.
 */
function fromHttpError(err: unknown): ApiError | undefined {
  const status = (err as { status?: unknown; statusCode?: unknown } | null)?.status;
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  switch (status) {
    case 404:
      return new ApiError('not_found', 'not found', { cause: err });
    case 413:
      return new ApiError('payload_too_large', 'the request is too large', { cause: err });
    case 415:
      return new ApiError('unsupported_media_type', 'unsupported media type', { cause: err });
    default:
      return new ApiError('bad_request', 'the request could not be understood', { cause: err });
  }
}
