import { Redis } from 'ioredis';

export interface ConnectionOptions {
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
export function openConnection(options: ConnectionOptions): Redis {
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

/** Waits up to `timeoutMs` for the connection to be ready; resolves either way. */
export async function waitReady(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    redis.once('ready', done);
    function done() {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    }
  });
}
