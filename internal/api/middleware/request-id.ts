import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/**
 * What an incoming id may look like to be reused: the characters of UUIDs, ULIDs and trace ids, and short. Anything
 * else is replaced, so that a client cannot inject text into log lines or response headers.
 */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every request an id: the caller's `X-Request-Id` when it is sane (so one id follows a request through a
 * proxy and into our logs), a random UUID otherwise. The id is echoed in the response header and set as `req.id`,
 * which the request logger picks up.
 */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get(REQUEST_ID_HEADER);
    const id = incoming !== undefined && SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.id = id;
    res.setHeader(REQUEST_ID_HEADER, id);
    next();
  };
}
