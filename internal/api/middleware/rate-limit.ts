import type { RequestHandler } from 'express';
import { toError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import { ApiError } from '../errors.js';
import type { RateLimiter } from '../ports.js';
import { normalisePath } from './bearer-auth.js';

export interface RateLimitOptions {
  limiter: RateLimiter;
  /** Paths never limited: probes and scrapes, which orchestrators and Prometheus must always reach. */
  exemptPaths: ReadonlySet<string>;
  logger: Logger;
}

/**
 * Limits requests per token (by its name) or, when authentication is off, per client address. Runs after
 * authentication, so that the key is the token that was proven, not one a client merely claims. Every limited
 * answer carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset`; a refused one is a 429 with
 * `Retry-After`. A limiter that fails lets the request through: a broken limit must never take the API down.
 */
export function rateLimit(options: RateLimitOptions): RequestHandler {
  return (req, res, next) => {
    if (options.exemptPaths.has(normalisePath(req.path))) return next();
    const key = req.auth !== undefined && req.auth.name !== 'anonymous' ? `token:${req.auth.name}` : `addr:${req.ip ?? 'unknown'}`;
    options.limiter.consume(key).then(
      (verdict) => {
        const resetSeconds = Math.max(1, Math.ceil(verdict.resetMs / 1000));
        res.setHeader('RateLimit-Limit', String(verdict.limit));
        res.setHeader('RateLimit-Remaining', String(verdict.remaining));
        res.setHeader('RateLimit-Reset', String(resetSeconds));
        if (verdict.allowed) return next();
        next(
          new ApiError('rate_limited', `too many requests; try again in ${resetSeconds} s`, {
            retryAfterSeconds: resetSeconds,
          }),
        );
      },
      (err: unknown) => {
        options.logger.warn({ err: toError(err) }, 'rate limiter failed; the request is let through');
        next();
      },
    );
  };
}
