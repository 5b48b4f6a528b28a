import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import type { RedisClient, RedisTopologyOptions } from './connection.js';

/**
 * The node that serves the queue now, as `host:port`: on a Cluster, the master of the slot the queue's hash tag
 * maps to (from the client's slot map, which follows MOVED and failovers); behind Sentinel, the master the client
 * is connected to; otherwise the configured server. Null while there is none (no connection, or a slot without a
 * master).
 */
export function queueNodeOf(client: RedisClient, target: RedisTopologyOptions, queueKey: string): string | null {
  if (client instanceof Cluster) {
    if (client.status !== 'ready') return null;
    return client.slots[calculateSlot(queueKey)]?.[0] ?? null;
  }
  if (target.topology === 'standalone') return `${target.host}:${target.port}`;
  if (client.status !== 'ready') return null;
  const socket = client.stream as { remoteAddress?: string; remotePort?: number } | undefined;
  if (socket?.remoteAddress === undefined || socket.remotePort === undefined) return null;
  const host = socket.remoteAddress.replace(/^::ffff:/, '');
  return `${host.includes(':') ? `[${host}]` : host}:${socket.remotePort}`;
}

/** The hash slot of a key (0 to 16383), as Redis Cluster computes it. */
export function slotOf(key: string): number {
  return calculateSlot(key);
}

/** An error's message with any password of the target masked, in case a library ever repeats one. */
export function redactedMessage(err: unknown, target: RedisTopologyOptions): string {
  const first = err instanceof Error ? err.message : String(err);
  const last = (err as { lastNodeError?: unknown } | undefined)?.lastNodeError;
  let message = last instanceof Error && last.message !== first ? `${first} ${last.message}` : first;
  const secrets = [target.password, target.topology === 'sentinel' ? target.sentinelPassword : undefined];
  for (const secret of secrets) {
    if (secret !== undefined && secret !== '') message = message.split(secret).join('***');
  }
  return message;
}
