import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../internal/platform/logger.js';
import { type HostLimits, type HostPermitVerdict, hostPermitAcquire, hostPermitRelease, hostPermitRenew } from '../internal/store/index.js';
import { RedisQueue } from '../internal/taskqueue/index.js';
import { type Dialect, REDIS_ADDR, type TestStore, createTestStore, uniqueName, waitFor } from './support/services.js';

/**
 * The two places politeness per host is counted, with the same contract: the database (`host_permits`, polling
 * mode, SQLite and MariaDB) and Redis (stream mode). At most the limit of permits in flight per host, a sliding
 * window for the rate, another host unaffected, a released permit freed at once and a crashed holder's permit
 * freed when its lease runs out.
 */

interface Permits {
  acquire(host: string, token: string, limits: HostLimits, leaseMs: number): Promise<HostPermitVerdict>;
  renew(host: string, token: string, leaseMs: number): Promise<void>;
  release(host: string, token: string): Promise<void>;
}

const TWO: HostLimits = { concurrency: 2, rate: null };

function contract(name: string, setUp: () => Promise<{ permits: Permits; close(): Promise<void> }>) {
  describe(name, () => {
    let permits: Permits;
    let close: () => Promise<void>;

    beforeAll(async () => {
      ({ permits, close } = await setUp());
    });
    afterAll(async () => {
      await close?.();
    });

    it('gives at most the limit of permits in flight per host, and none of them to another host', async () => {
      const host = uniqueName('busy.example');
      expect(await permits.acquire(host, 'a', TWO, 60_000)).toEqual({ ok: true });
      expect(await permits.acquire(host, 'b', TWO, 60_000)).toEqual({ ok: true });
      const refused = await permits.acquire(host, 'c', TWO, 60_000);
      expect(refused).toMatchObject({ ok: false, reason: 'concurrency' });
      expect(await permits.acquire(uniqueName('other.example'), 'd', TWO, 60_000)).toEqual({ ok: true });
      await permits.release(host, 'a');
      expect(await permits.acquire(host, 'c', TWO, 60_000)).toEqual({ ok: true });
      // A task's own, lower limit counts what every task holds.
      expect(await permits.acquire(host, 'e', { concurrency: 1, rate: null }, 60_000)).toMatchObject({ ok: false });
    });

    it('frees the permit of a holder that died when its lease runs out, and keeps a renewed one', async () => {
      const host = uniqueName('crash.example');
      const one: HostLimits = { concurrency: 1, rate: null };
      expect(await permits.acquire(host, 'dead', one, 400)).toEqual({ ok: true });
      expect(await permits.acquire(host, 'next', one, 400)).toMatchObject({ ok: false });
      // Nobody renews or releases it: it expires.
      await waitFor(async () => (await permits.acquire(host, 'next', one, 60_000)).ok, { timeoutMs: 5000, message: 'the expired permit freed' });

      const alive = uniqueName('alive.example');
      expect(await permits.acquire(alive, 'holder', one, 600)).toEqual({ ok: true });
      const until = Date.now() + 1500;
      while (Date.now() < until) {
        await permits.renew(alive, 'holder', 600);
        expect(await permits.acquire(alive, 'other', one, 600)).toMatchObject({ ok: false });
        // The holder renewing on its own cadence, as a running request does (a heartbeat, not a wait for an event).
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    });

    it('refuses past the rate within its window, says how long to wait, and allows again after it', async () => {
      const host = uniqueName('rate.example');
      const rate: HostLimits = { concurrency: null, rate: { count: 3, perMs: 1000 } };
      for (const token of ['r1', 'r2', 'r3']) expect(await permits.acquire(host, token, rate, 60_000)).toEqual({ ok: true });
      const refused = await permits.acquire(host, 'r4', rate, 60_000);
      expect(refused).toMatchObject({ ok: false, reason: 'rate' });
      expect(refused.ok ? 0 : refused.retryInMs).toBeGreaterThan(0);
      expect(refused.ok ? 0 : refused.retryInMs).toBeLessThanOrEqual(1000);
      await waitFor(async () => (await permits.acquire(host, 'r4', rate, 60_000)).ok, { timeoutMs: 3000, message: 'the window passed' });
      // A request refused for concurrency takes no place in the rate's window.
      const both = uniqueName('both.example');
      const limits: HostLimits = { concurrency: 1, rate: { count: 2, perMs: 60_000 } };
      expect(await permits.acquire(both, 'x', limits, 60_000)).toEqual({ ok: true });
      expect(await permits.acquire(both, 'y', limits, 60_000)).toMatchObject({ ok: false, reason: 'concurrency' });
      await permits.release(both, 'x');
      expect(await permits.acquire(both, 'y', limits, 60_000)).toEqual({ ok: true });
    });
  });
}

for (const dialect of ['mysql', 'sqlite'] as Dialect[]) {
  contract(`host permits in the ${dialect} store`, async () => {
    const db: TestStore = await createTestStore(dialect, 'host_permits');
    const { store } = db;
    return {
      permits: {
        acquire: (host, token, limits, leaseMs) => hostPermitAcquire(store, { host, token, limits, leaseMs, now: new Date() }),
        renew: (host, token, leaseMs) => hostPermitRenew(store, { host, token, leaseMs, now: new Date() }),
        release: (host, token) => hostPermitRelease(store, { host, token }),
      },
      close: () => db.cleanup(),
    };
  });
}

contract('host permits in Redis', async () => {
  const [host, port] = REDIS_ADDR.split(':');
  const queue = new RedisQueue({
    target: { topology: 'standalone', host: host ?? '127.0.0.1', port: Number(port) },
    stream: uniqueName('vigil_host_permits'),
    group: 'g',
    consumer: 'c',
    logger: silentLogger(),
    now: () => Date.now(),
  });
  await queue.connect();
  return {
    permits: {
      acquire: (h, token, limits, leaseMs) => queue.hostPermits.acquire({ host: h, token, limits, leaseMs }),
      renew: (h, token, leaseMs) => queue.hostPermits.renew({ host: h, token, leaseMs }),
      release: (h, token) => queue.hostPermits.release({ host: h, token }),
    },
    close: () => queue.close(),
  };
});
