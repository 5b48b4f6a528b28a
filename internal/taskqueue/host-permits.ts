import type { RedisClient } from './connection.js';
import { translated } from './errors.js';
import type { QueueKeys } from './keys.js';
import { withScripts } from './scripts.js';

/**
 * Politeness per host through Redis (stream mode): a distributed semaphore with leases and a sliding-window rate,
 * one atomic script per acquire (`host-permit.script.ts`). Written by hand rather than with rate-limiter-flexible,
 * which has no semaphore: taking the place in flight and the rate's place in one step means a request refused by
 * one limit never uses up the other. Every error leaves as a QueueError. The scheduler declares the interface it
 * needs (`HostPermitBackend`); the store has the same operations for polling mode and SQLite.
 */

export interface RedisHostLimits {
  concurrency: number | null;
  rate: { count: number; perMs: number } | null;
}

export type RedisHostPermitVerdict = { ok: true } | { ok: false; retryInMs: number; reason: 'concurrency' | 'rate' };

export class RedisHostPermits {
  constructor(private readonly deps: { redis: RedisClient; keys: QueueKeys }) {}

  acquire(params: { host: string; token: string; limits: RedisHostLimits; leaseMs: number }): Promise<RedisHostPermitVerdict> {
    return translated(async () => {
      const keys = this.deps.keys.hostPermits(params.host);
      const { concurrency, rate } = params.limits;
      const reply = (await withScripts(this.deps.redis).vigilHostPermitAcquire(
        2,
        keys.run,
        keys.rate,
        params.token,
        String(concurrency ?? 0),
        String(Math.max(1, Math.round(params.leaseMs))),
        String(rate?.count ?? 0),
        String(rate?.perMs ?? 1000),
      )) as [number, number, string?];
      if (Number(reply[0]) === 1) return { ok: true } as const;
      return { ok: false, retryInMs: Number(reply[1]), reason: reply[2] === 'rate' ? 'rate' : 'concurrency' } as const;
    });
  }

  renew(params: { host: string; token: string; leaseMs: number }): Promise<void> {
    return translated(async () => {
      const keys = this.deps.keys.hostPermits(params.host);
      await withScripts(this.deps.redis).vigilHostPermitRenew(1, keys.run, params.token, String(Math.max(1, Math.round(params.leaseMs))));
    });
  }

  release(params: { host: string; token: string }): Promise<void> {
    return translated(async () => {
      await this.deps.redis.zrem(this.deps.keys.hostPermits(params.host).run, params.token);
    });
  }
}
