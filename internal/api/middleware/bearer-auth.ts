import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ApiError } from '../errors.js';

/** What a token may do: `read` only looks, `write` also changes. */
export type TokenScope = 'read' | 'write';

/** One accepted bearer token. The name is what logs and errors show; the token itself is never shown. */
export interface ApiToken {
  name: string;
  token: string;
  scope: TokenScope;
}

/** Who made a request, once authenticated: set on `req.auth` for the scope check, the rate limit and the log. */
export interface RequestAuth {
  /** The token's name; `anonymous` when authentication is off. */
  name: string;
  scope: TokenScope;
}

declare module 'http' {
  interface IncomingMessage {
    /** Set by the bearer-auth middleware; undefined on open paths. */
    auth?: RequestAuth;
  }
}

export interface BearerAuthOptions {
  /** Accepted tokens. Empty turns authentication off (every request may read and write). */
  tokens: readonly ApiToken[];
  /** Paths served without a token: probes and the API description. Matched exactly (a trailing slash is ignored). */
  openPaths: ReadonlySet<string>;
}

/** The identity of every request when no tokens are configured. */
export const ANONYMOUS: RequestAuth = Object.freeze({ name: 'anonymous', scope: 'write' });

/**
 * Requires `Authorization: Bearer <token>` with one of the configured tokens, and records which one on
 * `req.auth`. Tokens are compared as sha256 digests with `timingSafeEqual`, and every configured token is
 * compared, so that neither the time taken nor an early exit tells a caller how much of a guess was right or which
 * token it was close to.
 */
export function bearerAuth(options: BearerAuthOptions): RequestHandler {
  if (options.tokens.length === 0) {
    return (req, _res, next) => {
      if (!options.openPaths.has(normalisePath(req.path))) req.auth = ANONYMOUS;
      next();
    };
  }
  const accepted = options.tokens.map((t) => ({ digest: digest(t.token), auth: Object.freeze({ name: t.name, scope: t.scope }) }));
  return (req, _res, next) => {
    if (options.openPaths.has(normalisePath(req.path))) return next();
    const presented = bearerTokenOf(req.get('authorization'));
    const match = presented === undefined ? undefined : findMatch(digest(presented), accepted);
    if (match === undefined) return next(new ApiError('unauthorized', 'a valid bearer token is required'));
    req.auth = match;
    next();
  };
}

/**
 * Methods that change nothing, and POST routes that only check a request; everything else needs a `write` token.
 * Deciding by method rather than per route means that a route added later is protected unless it says otherwise.
 */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Refuses changes (any method but GET, HEAD and OPTIONS, except `readOnlyPosts`) to a token with the `read` scope. */
export function requireWriteScope(options: { readOnlyPosts: ReadonlySet<string> }): RequestHandler {
  return (req, _res, next) => {
    const auth = req.auth;
    if (auth === undefined || auth.scope === 'write' || SAFE_METHODS.has(req.method)) return next();
    if (req.method === 'POST' && options.readOnlyPosts.has(normalisePath(req.path))) return next();
    next(new ApiError('forbidden', `token "${auth.name}" has the read scope and cannot make changes`));
  };
}

/** What a server makes of an `Authorization` header: no bearer token, one it accepts (and its scope), or one it rejects. */
export type TokenVerdict = { token: 'none' | 'rejected'; scope: null } | { token: 'accepted'; scope: TokenScope };

/**
 * The comparison {@link bearerAuth} makes, for a route that answers rather than refuses: `GET /info` tells the
 * dashboard whether its token works, and what it may do, without a 401. With no tokens every request may write.
 */
export function tokenCheck(tokens: readonly ApiToken[]): (authorization: string | undefined) => TokenVerdict {
  const accepted = tokens.map((t) => ({ digest: digest(t.token), auth: Object.freeze({ name: t.name, scope: t.scope }) }));
  return (authorization) => {
    if (accepted.length === 0) return { token: 'accepted', scope: ANONYMOUS.scope };
    const presented = bearerTokenOf(authorization);
    if (presented === undefined) return { token: 'none', scope: null };
    const match = findMatch(digest(presented), accepted);
    return match === undefined ? { token: 'rejected', scope: null } : { token: 'accepted', scope: match.scope };
  };
}

/** The token of an `Authorization: Bearer …` header, or undefined when the header is missing or another scheme. */
function bearerTokenOf(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

function findMatch(candidate: Buffer, accepted: readonly { digest: Buffer; auth: RequestAuth }[]): RequestAuth | undefined {
  let found: RequestAuth | undefined;
  for (const entry of accepted) {
    // No early exit: every token is compared whatever matched before.
    if (timingSafeEqual(candidate, entry.digest) && found === undefined) found = entry.auth;
  }
  return found;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** `/tasks/` and `/tasks` are the same path. */
export function normalisePath(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
