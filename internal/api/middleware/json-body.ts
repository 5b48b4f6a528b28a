import express, { type RequestHandler } from 'express';
import { ApiError } from '../errors.js';
import { BODY_FIELD } from '../validation-fields.js';

/** Media types read as JSON: `application/json` and the `+json` family. */
const JSON_TYPES = ['application/json', 'application/*+json'];

export interface JsonBodyOptions {
  /** Largest body accepted, in bytes; larger ones get 413. */
  limitBytes: number;
}

/**
 * Reads JSON bodies. A body of another media type gets 415, an oversized one 413 and malformed JSON 400, each as
 * an ApiError so that the error middleware alone decides the status. Requests without a body pass untouched.
 */
export function jsonBody(options: JsonBodyOptions): RequestHandler[] {
  const parse = express.json({ limit: options.limitBytes, type: JSON_TYPES, strict: true });
  const requireJson: RequestHandler = (req, _res, next) => {
    if (!hasBody(req.headers) || req.is(JSON_TYPES)) return next();
    next(
      new ApiError('unsupported_media_type', 'the body must be JSON (Content-Type: application/json)', {
        fields: { [BODY_FIELD]: 'must be sent as application/json' },
      }),
    );
  };
  const parseJson: RequestHandler = (req, res, next) => {
    parse(req, res, (err?: unknown) => next(err === undefined ? undefined : bodyError(err, options.limitBytes)));
  };
  return [requireJson, parseJson];
}

/** Whether the request carries a body, by its framing headers (the same rule the body parser uses). */
function hasBody(headers: { 'transfer-encoding'?: string | undefined; 'content-length'?: string | undefined }): boolean {
  return headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
}

/**
 * body-parser's errors → ApiError. The parser's own messages are not passed on: a JSON syntax error quotes the
 * body, and a body may hold secrets.
 */
function bodyError(err: unknown, limitBytes: number): ApiError {
  const type = (err as { type?: unknown } | null)?.type;
  switch (type) {
    case 'entity.too.large':
      return new ApiError('payload_too_large', `the body is larger than ${limitBytes} bytes`, {
        fields: { [BODY_FIELD]: `must be at most ${limitBytes} bytes` },
        cause: err,
      });
    case 'entity.parse.failed':
      return new ApiError('invalid_json', 'the body is not valid JSON', {
        fields: { [BODY_FIELD]: 'is not valid JSON' },
        cause: err,
      });
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new ApiError('unsupported_media_type', 'the charset or content encoding of the body is not supported', {
        fields: { [BODY_FIELD]: 'has an unsupported charset or content encoding' },
        cause: err,
      });
    default:
      return new ApiError('bad_request', 'the body could not be read', { fields: { [BODY_FIELD]: 'could not be read' }, cause: err });
  }
}
