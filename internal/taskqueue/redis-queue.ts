import type { Logger } from 'pino';
import { RedisStreamBroker } from './broker.js';
import { connectInBackground, openConnection, waitReady } from './connection.js';
import { QueueKeys } from './keys.js';
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
  private readonly commands;
  private readonly blocking;

  constructor(options: RedisQueueOptions) {
    const connection = { host: options.host, port: options.port, password: options.password };
    this.commands = openConnection(connection);
    this.blocking = openConnection(connection);
    const keys = new QueueKeys(options.stream);
    this.tag = keys.tag;
    this.broker = new RedisStreamBroker(
      { commands: this.commands, blocking: this.blocking, keys, logger: options.logger, now: options.now },
      { group: options.group, consumer: options.consumer },
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

  async close(): Promise<void> {
    this.blocking.disconnect();
    await this.commands.quit().catch(() => this.commands.disconnect());
  }
}
