import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ApiError } from '../errors.js';

export interface BearerAuthOptions {
  /** Accepted tokens. Empty turns authentication off. */
  tokens: readonly string[];
  /** Paths served without a token: probes and the API description. Matched exactly (a trailing slash is ignored). */
  openPaths: ReadonlySet<string>;
}

/**
 * Requires `Authorization: Bearer <token>` with one of the configured tokens. Tokens are compared as sha256
 * digests with `timingSafeEqual`, and every configured token is compared, so that neither the time taken nor an
 * early exit tells a caller how much of a guess was right or which token it was close to.
 */
export function bearerAuth(options: BearerAuthOptions): RequestHandler {
  if (options.tokens.length === 0) return (_req, _res, next) => next();
  const accepted = options.tokens.map(digest);
  return (req, _res, next) => {
    if (options.openPaths.has(normalisePath(req.path))) return next();
    const presented = bearerTokenOf(req.get('authorization'));
    if (presented !== undefined && matchesAny(digest(presented), accepted)) return next();
    next(new ApiError('unauthorized', 'a valid bearer token is required'));
  };
}

/** The token of an `Authorization: Bearer …` header, or undefined when the header is missing or another scheme. */
function bearerTokenOf(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

function matchesAny(candidate: Buffer, accepted: readonly Buffer[]): boolean {
  let matched = false;
  for (const token of accepted) matched = timingSafeEqual(candidate, token) || matched;
  return matched;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function normalisePath(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
