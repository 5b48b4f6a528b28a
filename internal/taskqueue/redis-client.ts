import { Redis } from 'ioredis';

export type { Redis } from 'ioredis';

export interface RedisOptions {
  host: string;
  port: number;
  password?: string | undefined;
  /** ms to wait for a connection. Default 2000. */
  connectTimeoutMs?: number;
  /** ms to wait for the reply to a (non-blocking) command. Default 2000. */
  commandTimeoutMs?: number;
}

/**
 * A Redis connection tuned to fail fast: while Redis is unreachable, commands reject at once instead of queueing,
 * so that the API falls back to direct scheduling and the scheduler to polling. It reconnects in the background
 * forever, backing off to one attempt a second.
 */
export function createRedis(options: RedisOptions): Redis {
  const redis = new Redis({
    host: options.host,
    port: options.port,
    password: options.password,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: options.connectTimeoutMs ?? 2000,
    // A Redis that stops answering without closing the connection (a partition, a moved IP) must not hang a
    // publish, an acknowledgement or a shutdown: every command gives up after 2 s. The blocking read waits at most
    // 1 s (StreamSource's blockMs), so this bounds it too.
    commandTimeout: options.commandTimeoutMs ?? 2000,
    keepAlive: 10_000,
    retryStrategy: (times) => Math.min(100 * times, 1000),
    // A failed connection must not print the password anywhere; ioredis does not, and errors are logged by us.
    showFriendlyErrorStack: false,
  });
  // Connection errors surface through command failures and the health probe; an unhandled 'error' event would
  // otherwise be printed by ioredis itself.
  redis.on('error', () => undefined);
  return redis;
}

/** Starts connecting without waiting: a Redis that is down at startup is retried in the background. */
export function connectInBackground(redis: Redis): void {
  if (redis.status === 'wait') redis.connect().catch(() => undefined);
}

/** Whether the connection is up and Redis answers PING within `timeoutMs`. */
export async function redisAnswers(redis: Redis, timeoutMs = 1000): Promise<boolean> {
  if (redis.status !== 'ready') return false;
  let timer: NodeJS.Timeout | undefined;
  try {
    const pong = await Promise.race([
      redis.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('ping timed out')), timeoutMs);
      }),
    ]);
    return pong === 'PONG';
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
