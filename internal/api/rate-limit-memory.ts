import { RateLimiterMemory } from 'rate-limiter-flexible';
import { consumeOne } from '../platform/rate-limit.js';
import type { RateLimiter } from './ports.js';

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
  return { consume: (key) => consumeOne(limiter, key, window.points) };
}
