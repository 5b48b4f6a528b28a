import type { Logger } from 'pino';
import type { TrimOptions } from './stream-admin.js';
import { RedisStreamBroker } from './broker.js';
import {
  type RedisClient,
  type RedisTopology,
  type RedisTopologyOptions,
  connectInBackground,
  describeTarget,
  openConnection,
  waitReady,
} from './connection.js';
import { QueueError } from './errors.js';
import { RedisHostPermits } from './host-permits.js';
import { QueueKeys } from './keys.js';
import type { RateLimitVerdict } from '../platform/rate-limit.js';
import { createSharedRateLimiter } from './rate-limiter.js';
import { RedisHealth } from './redis-health.js';
import { queueNodeOf, redactedMessage } from './topology.js';

export interface RedisQueueOptions {
  /** Where Redis is: a single Redis, a Cluster or Sentinel (the config's `redis`). */
  target: RedisTopologyOptions;
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
 *
 * Every key shares one hash tag, so on a Cluster every command, pipeline and script goes to the one master that
 * owns the queue's slot; the client follows MOVED and ASK when the slot moves, and a new master after a failover.
 */
export class RedisQueue {
  readonly broker: RedisStreamBroker;
  readonly health: RedisHealth;
  /** Politeness per host, counted in Redis across every process (see `host-permits.ts`). */
  readonly hostPermits: RedisHostPermits;
  /** The hash tag the keys share, e.g. `{vigil:task:queue}`. */
  readonly tag: string;
  readonly topology: RedisTopology;
  private readonly keys: QueueKeys;
  private readonly target: RedisTopologyOptions;
  private readonly commands: RedisClient;
  private readonly blocking: RedisClient;
  /** The rate limiter's own connection, opened when the API asks for a shared limit. */
  private limiting: RedisClient | undefined;

  constructor(options: RedisQueueOptions) {
    const { target } = options;
    this.target = target;
    this.topology = target.topology;
    this.commands = openConnection(target);
    this.blocking = openConnection(target);
    const keys = new QueueKeys(options.stream);
    this.keys = keys;
    this.tag = keys.tag;
    this.broker = new RedisStreamBroker(
      { commands: this.commands, blocking: this.blocking, keys, logger: options.logger, now: options.now },
      { group: options.group, consumer: options.consumer, ...(options.trim === undefined ? {} : { trim: options.trim }) },
    );
    const commands = this.commands;
    this.hostPermits = new RedisHostPermits({ redis: this.commands, keys });
    this.health = new RedisHealth(
      {
        connection: commands,
        probeWrite: () => this.broker.probeWrite(),
        // On a Cluster, PING goes to any node; a read of one of the queue's keys goes to the master of its slot,
        // which is the node that must answer for the queue to work.
        ping:
          target.topology === 'cluster'
            ? async () => {
                await commands.exists(keys.probe());
                return true;
              }
            : async () => (await commands.ping()) === 'PONG',
        queueNode: () => queueNodeOf(commands, target, keys.probe()),
      },
      { addr: describeTarget(target), topology: target.topology, pingTimeoutMs: 1000 },
    );
  }

  /**
   * Starts connecting in the background and waits briefly for a first connection, so that startup logs the real
   * mode; a Redis (or the master behind Sentinel) that is down is not fatal, it is retried. A Cluster whose seed
   * nodes none answer is: the client cannot learn the cluster's shape without one, so the address is wrong or the
   * cluster is not there, and the process stops with a message naming REDIS_CLUSTER_NODES (never the password).
   */
  async connect(timeoutMs = 2000): Promise<void> {
    if (this.target.topology === 'cluster') await this.connectCluster(timeoutMs);
    connectInBackground(this.commands);
    connectInBackground(this.blocking);
    await waitReady(this.commands, timeoutMs);
    await this.health.refresh();
  }

  private async connectCluster(timeoutMs: number): Promise<void> {
    let lastError: unknown;
    const errors = (err: unknown) => {
      lastError = err;
    };
    this.commands.on('error', errors);
    try {
      connectInBackground(this.commands);
      await waitReady(this.commands, Math.max(timeoutMs, 5000));
    } finally {
      this.commands.off('error', errors);
    }
    if (this.commands.status === 'ready') return;
    const why = lastError === undefined ? `status ${this.commands.status}` : redactedMessage(lastError, this.target);
    throw new QueueError(
      'unavailable',
      `REDIS_CLUSTER_NODES (${describeTarget(this.target)}): no Redis Cluster answered at these seed nodes (${why}); ` +
        'check the addresses, that the nodes run with cluster-enabled yes, and REDIS_PASSWORD / REDIS_TLS',
    );
  }

  /**
   * The API's rate limit shared by every API process through Redis, on a connection of its own whose commands give
   * up after 250 ms: a Redis that stops answering delays a request that long at most before the in-process
   * fallback counts it.
   */
  rateLimiter(limit: { points: number; windowSeconds: number }): { consume(key: string): Promise<RateLimitVerdict> } {
    this.limiting ??= openConnection(this.target, { commandTimeoutMs: 250 });
    connectInBackground(this.limiting);
    return createSharedRateLimiter({ redis: this.limiting, keys: this.keys, ...limit });
  }

  async close(): Promise<void> {
    this.limiting?.disconnect();
    this.blocking.disconnect();
    await this.commands.quit().catch(() => this.commands.disconnect());
  }
}
