import type { RequestHandler } from 'express';
import { NotFoundError } from '../errors.js';

/** The last route: anything that reached it matched no route, and gets the same JSON error as a missing task. */
export function notFound(): RequestHandler {
  return (req, _res, next) => {
    next(new NotFoundError(`no route for ${req.method} ${truncate(req.path)}`));
  };
}

function truncate(path: string): string {
  return path.length > 200 ? `${path.slice(0, 199)}…` : path;
}
