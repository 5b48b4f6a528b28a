import type { Logger } from 'pino';
import type { TrimOptions } from './stream-admin.js';
import { RedisStreamBroker } from './broker.js';
import { type ConnectionOptions, connectInBackground, openConnection, waitReady } from './connection.js';
import { QueueKeys } from './keys.js';
import { type SharedRateLimitVerdict, createSharedRateLimiter } from './rate-limiter.js';
import { RedisHealth } from './redis-health.js';

export interface RedisQueueOptions {
  host: string;
  port: number;
  password?: string | undefined;
  /** The stream name (APP_TASK_QUEUE_STREAM): the hash tag of every key. */
  stream: string;
  /** APP_TASK_QUEUE_GROUP. */
  group: string;
  /** This process's worker id, its consumer name in the group. */
  consumer: string;
  logger: Logger;
  now: () => number;
  /** How trimming treats other groups and streams no group reads; defaults in stream-admin.ts. */
  trim?: TrimOptions;
}

/**
 * Everything a process needs of Redis, built from configuration: the broker (every queue command), the health
 * that answers "is Redis up", and the connections' lifecycle. Nothing outside this package sees a connection.
 */
export class RedisQueue {
  readonly broker: RedisStreamBroker;
  readonly health: RedisHealth;
  /** The hash tag the keys share, e.g. `{vigil:task:queue}`. */
  readonly tag: string;
  private readonly keys: QueueKeys;
  private readonly connection: ConnectionOptions;
  private readonly commands;
  private readonly blocking;
  /** The rate limiter's own connection, opened when the API asks for a shared limit. */
  private limiting: ReturnType<typeof openConnection> | undefined;

  constructor(options: RedisQueueOptions) {
    const connection = { host: options.host, port: options.port, password: options.password };
    this.connection = connection;
    this.commands = openConnection(connection);
    this.blocking = openConnection(connection);
    const keys = new QueueKeys(options.stream);
    this.keys = keys;
    this.tag = keys.tag;
    this.broker = new RedisStreamBroker(
      { commands: this.commands, blocking: this.blocking, keys, logger: options.logger, now: options.now },
      { group: options.group, consumer: options.consumer, ...(options.trim === undefined ? {} : { trim: options.trim }) },
    );
    this.health = new RedisHealth(
      { connection: this.commands, probeWrite: () => this.broker.probeWrite() },
      { addr: `${options.host}:${options.port}`, pingTimeoutMs: 1000 },
    );
  }

  /**
   * Starts connecting in the background and waits briefly for a first connection, so that startup logs the real
   * mode; a Redis that is down is not fatal, it is retried.
   */
  async connect(timeoutMs = 2000): Promise<void> {
    connectInBackground(this.commands);
    connectInBackground(this.blocking);
    await waitReady(this.commands, timeoutMs);
    await this.health.refresh();
  }

  /**
   * The API's rate limit shared by every API process through Redis, on a connection of its own whose commands give
   * up after 250 ms: a Redis that stops answering delays a request that long at most before the in-process
   * fallback counts it.
   */
  rateLimiter(limit: { points: number; windowSeconds: number }): { consume(key: string): Promise<SharedRateLimitVerdict> } {
    this.limiting ??= openConnection({ ...this.connection, commandTimeoutMs: 250 });
    connectInBackground(this.limiting);
    return createSharedRateLimiter({ redis: this.limiting, keys: this.keys, ...limit });
  }

  async close(): Promise<void> {
    this.limiting?.disconnect();
    this.blocking.disconnect();
    await this.commands.quit().catch(() => this.commands.disconnect());
  }
}
