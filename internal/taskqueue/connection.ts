import { Cluster, Redis, type RedisOptions } from 'ioredis';

/** A Redis node, `host:port`. */
export interface RedisNodeAddress {
  host: string;
  port: number;
}

/**
 * Where Redis is: a single server, a Cluster (seed nodes; the rest is discovered), or a master found through
 * Sentinel. The same shape as the config's `redis` section, declared here so that this package needs nothing of
 * the config package.
 */
export type RedisTopologyOptions = (
  | ({ topology: 'standalone' } & RedisNodeAddress)
  | { topology: 'cluster'; nodes: readonly RedisNodeAddress[] }
  | {
      topology: 'sentinel';
      sentinels: readonly RedisNodeAddress[];
      /** The master's name as the sentinels know it. */
      masterName: string;
      sentinelPassword?: string | undefined;
    }
) & {
  password?: string | undefined;
  /** TLS to every node (and to the sentinels). */
  tls?: boolean;
};

export type RedisTopology = RedisTopologyOptions['topology'];

/** A connection to any of the three topologies. Both classes speak the same commands. */
export type RedisClient = Redis | Cluster;

export interface ConnectionOptions {
  /** ms to wait for a connection. Default 2000. */
  connectTimeoutMs?: number;
  /** ms to wait for the reply to a (non-blocking) command. Default 2000. */
  commandTimeoutMs?: number;
}

/** Reconnects back off to one attempt a second, forever. */
const reconnectDelay = (times: number) => Math.min(100 * times, 1000);

/**
 * A Redis connection tuned to fail fast: while Redis is unreachable (or, on a Cluster, while the queue's slot has
 * no master), commands reject within the command timeout instead of queueing, so that the API falls back to direct
 * scheduling and the scheduler to polling. It reconnects in the background forever, backing off to one attempt a
 * second, and follows a failover on its own: a Sentinel client asks the sentinels for the new master, a Cluster
 * client refreshes its slot map and follows MOVED and ASK.
 */
export function openConnection(target: RedisTopologyOptions, options: ConnectionOptions = {}): RedisClient {
  const tls = target.tls === true ? {} : undefined;
  const base: RedisOptions = {
    password: target.password,
    tls,
    lazyConnect: true,
    connectTimeout: options.connectTimeoutMs ?? 2000,
    // A Redis that stops answering without closing the connection (a partition, a moved IP) must not hang a
    // publish, an acknowledgement or a shutdown: every command gives up after 2 s. The blocking read waits at most
    // 1 s (StreamSource's blockMs), so this bounds it too.
    commandTimeout: options.commandTimeoutMs ?? 2000,
    keepAlive: 10_000,
    // A failed connection must not print the password anywhere; ioredis does not, and errors are logged by us.
    showFriendlyErrorStack: false,
  };
  let client: RedisClient;
  if (target.topology === 'cluster') {
    client = new Cluster(
      target.nodes.map((n) => ({ host: n.host, port: n.port })),
      {
        redisOptions: { ...base, lazyConnect: false },
        lazyConnect: true,
        // Commands fail while the cluster is not ready instead of waiting in a queue nobody bounds; the scheduler
        // polls meanwhile. A command to a slot that moved (MOVED), is moving (ASK) or whose master just died is
        // retried by the client after refreshing its slot map, up to maxRedirections times.
        enableOfflineQueue: false,
        // The queue's entries are read and acknowledged where they are written: a replica may lag behind.
        scaleReads: 'master',
        maxRedirections: 16,
        retryDelayOnMoved: 0,
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 200,
        retryDelayOnTryAgain: 100,
        slotsRefreshTimeout: 2000,
        slotsRefreshInterval: 2000,
        clusterRetryStrategy: reconnectDelay,
        // Reconnect and refresh the slot map when a node answers that it is a replica now (its master came back
        // after a failover and was demoted).
        enableReadyCheck: true,
      },
    );
  } else if (target.topology === 'sentinel') {
    client = new Redis({
      ...base,
      sentinels: target.sentinels.map((n) => ({ host: n.host, port: n.port })),
      name: target.masterName,
      role: 'master',
      sentinelPassword: target.sentinelPassword,
      enableTLSForSentinelMode: target.tls === true,
      sentinelTLS: tls,
      sentinelCommandTimeout: 1000,
      sentinelRetryStrategy: reconnectDelay,
      // Subscribes to the sentinels' +switch-master, so that a promotion is followed at once rather than on the
      // next failed command.
      failoverDetector: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: reconnectDelay,
      // A master demoted to replica (it came back after a failover) answers writes with READONLY: reconnect, which
      // asks the sentinels for the current master.
      reconnectOnError: (err) => err.message.startsWith('READONLY'),
    });
  } else {
    client = new Redis({
      ...base,
      host: target.host,
      port: target.port,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: reconnectDelay,
    });
  }
  // Connection errors surface through command failures and the health probe; an unhandled 'error' event would
  // otherwise be printed by ioredis itself.
  client.on('error', () => undefined);
  return client;
}

/** Where the client is pointed, for messages and `/healthz`: never credentials. */
export function describeTarget(target: RedisTopologyOptions): string {
  if (target.topology === 'standalone') return `${target.host}:${target.port}`;
  if (target.topology === 'cluster') return target.nodes.map((n) => `${n.host}:${n.port}`).join(',');
  return `${target.masterName}@${target.sentinels.map((n) => `${n.host}:${n.port}`).join(',')}`;
}

/** Starts connecting without waiting: a Redis that is down at startup is retried in the background. */
export function connectInBackground(redis: RedisClient): void {
  if (redis.status === 'wait') redis.connect().catch(() => undefined);
}

/** Waits up to `timeoutMs` for the connection to be ready; resolves either way. */
export async function waitReady(redis: RedisClient, timeoutMs: number): Promise<void> {
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
