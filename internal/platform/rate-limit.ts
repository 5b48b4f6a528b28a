import { RateLimiterRes } from 'rate-limiter-flexible';

/** A rate limiter's answer for one request: the API's 429 and `RateLimit-*` headers are built from it. */
export interface RateLimitVerdict {
  allowed: boolean;
  /** Requests allowed per window. */
  limit: number;
  /** Requests left in the current window (0 when refused). */
  remaining: number;
  /** Milliseconds until the window resets: when a refused client may try again. */
  resetMs: number;
}

/**
 * Consumes one point of `key` and turns rate-limiter-flexible's answer (a resolved or a rejected `RateLimiterRes`)
 * into a verdict; any other rejection is a real error and is thrown. Shared by the in-process limiter and the one
 * counted in Redis, so that both answer alike.
 */
export async function consumeOne(
  limiter: { consume(key: string, points?: number): Promise<RateLimiterRes> },
  key: string,
  limit: number,
): Promise<RateLimitVerdict> {
  try {
    const res = await limiter.consume(key, 1);
    return { allowed: true, limit, remaining: res.remainingPoints, resetMs: res.msBeforeNext };
  } catch (err) {
    if (err instanceof RateLimiterRes) return { allowed: false, limit, remaining: 0, resetMs: err.msBeforeNext };
    throw err;
  }
}
