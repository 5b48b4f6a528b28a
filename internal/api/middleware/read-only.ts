import type { RequestHandler } from 'express';
import { ApiError } from '../errors.js';
import { normalisePath } from './bearer-auth.js';

/** The header the dashboard puts on every request, so that the API can tell its requests apart. */
export const CLIENT_HEADER = 'X-Vigil-Client';
export const DASHBOARD_CLIENT = 'dashboard';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * APP_UI_READ_ONLY: refuses (403) every change the dashboard sends, so that a read-only dashboard cannot act even
 * when its page is tampered with. It binds the dashboard only: other clients are governed by their tokens, which is
 * where real enforcement for people belongs (a `read` token).
 */
export function dashboardReadOnly(options: { readOnly: boolean; readOnlyPosts: ReadonlySet<string> }): RequestHandler {
  if (!options.readOnly) return (_req, _res, next) => next();
  return (req, _res, next) => {
    if (SAFE_METHODS.has(req.method) || req.get(CLIENT_HEADER)?.toLowerCase() !== DASHBOARD_CLIENT) return next();
    // A POST that only checks a request changes nothing.
    if (req.method === 'POST' && options.readOnlyPosts.has(normalisePath(req.path))) return next();
    next(new ApiError('forbidden', 'the dashboard is read-only on this server (APP_UI_READ_ONLY=true)'));
  };
}
