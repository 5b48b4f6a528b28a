import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { type RateLimitVerdict, consumeOne } from '../platform/rate-limit.js';
import type { RedisClient } from './connection.js';
import type { QueueKeys } from './keys.js';

/**
 * The API's rate limit shared by every API process through Redis (rate-limiter-flexible's Redis store: one
 * INCR-with-expiry script per request). The API layer declares the interface it needs (`RateLimiter` in
 * `internal/api/ports.ts`); this file implements it where Redis lives, and `internal/app` wires the two together.
 *
 * While Redis is unreachable (not connected, or a command fails or times out), each request is counted by an
 * in-process limiter with the same numbers instead (rate-limiter-flexible's `insuranceLimiter`): the limit becomes
 * per process for that time, and a request is never refused, failed or held up because Redis is away.
 */

export interface SharedRateLimiterOptions {
  /**
   * The connection to count on. Use one of its own with a short command timeout (see `createRedis`), so that a
   * Redis that stops answering delays a request by that timeout at most before the fallback takes over.
   */
  redis: RedisClient;
  keys: QueueKeys;
  /** Requests allowed per window. */
  points: number;
  /** Length of the window, in whole seconds. */
  windowSeconds: number;
}

/** A rate limiter whose counts are shared through Redis, falling back to counting in this process. */
export function createSharedRateLimiter(options: SharedRateLimiterOptions): {
  consume(key: string): Promise<RateLimitVerdict>;
} {
  const { points, windowSeconds } = options;
  const limiter = new RateLimiterRedis({
    storeClient: options.redis,
    keyPrefix: options.keys.rateLimitPrefix(),
    points,
    duration: windowSeconds,
    // A connection that is not ready goes straight to the fallback instead of failing each command first.
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory({ points, duration: windowSeconds }),
  });
  return {
    async consume(key: string): Promise<RateLimitVerdict> {
      return consumeOne(limiter, key, points);
    },
  };
}
