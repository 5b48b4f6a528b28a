import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimitVerdict, RateLimiter } from './ports.js';

/** How many requests a key may make per window. */
export interface RateLimitWindow {
  /** Requests allowed per window (the burst). */
  points: number;
  /** Length of the window, in whole seconds. */
  windowSeconds: number;
}

/**
 * A rate limiter that counts in this process (rate-limiter-flexible's memory store): the limit when Redis is not
 * configured, and the fallback of the Redis one while Redis is unreachable.
 */
export function memoryRateLimiter(window: RateLimitWindow): RateLimiter {
  const limiter = new RateLimiterMemory({ points: window.points, duration: window.windowSeconds });
  return { consume: (key) => consumeWith(limiter, key, window.points) };
}

/** Consumes one point and turns rate-limiter-flexible's answer (a resolved or rejected RateLimiterRes) into a verdict. */
async function consumeWith(
  limiter: { consume(key: string, points?: number): Promise<RateLimiterRes> },
  key: string,
  points: number,
): Promise<RateLimitVerdict> {
  try {
    const res = await limiter.consume(key, 1);
    return { allowed: true, limit: points, remaining: res.remainingPoints, resetMs: res.msBeforeNext };
  } catch (err) {
    if (err instanceof RateLimiterRes) return { allowed: false, limit: points, remaining: 0, resetMs: err.msBeforeNext };
    throw err;
  }
}
