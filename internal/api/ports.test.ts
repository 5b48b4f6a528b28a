import { describe, expect, it } from 'vitest';
import { type Store, StoreError } from '../store/index.js';
import { pingWithin, pollingDispatcher, storeHealthSource } from './ports.js';

/** A store double whose ping does what the test says; nothing else is used by the code under test. */
function fakeStore(ping: () => Promise<void>): Store {
  return {
    target: { driver: 'mysql', host: 'db.internal:3306', database: 'vigil' },
    ping,
  } as unknown as Store;
}

describe('pingWithin', () => {
  it('turns a store that never answers into StoreError unavailable after the timeout', async () => {
    const store = fakeStore(() => new Promise<void>(() => undefined));
    const started = Date.now();
    const err = await pingWithin(store, 50).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('unavailable');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('passes the store error through when the ping fails first', async () => {
    const store = fakeStore(async () => {
      throw new StoreError('unavailable', 'connect ECONNREFUSED');
    });
    await expect(pingWithin(store, 1000)).rejects.toThrow('connect ECONNREFUSED');
  });
});

describe('storeHealthSource', () => {
  it('reports ok, polling mode and where the store is', async () => {
    const report = await storeHealthSource(fakeStore(async () => undefined)).check();
    expect(report).toEqual({
      status: 'ok',
      mode: 'db_polling',
      store: { driver: 'mysql', host: 'db.internal:3306', database: 'vigil', ok: true },
      redis: { configured: false, ok: false },
      reasons: [],
    });
  });

  it('reports degraded with the reason, and does not throw, when the store is down', async () => {
    const store = fakeStore(async () => {
      throw new StoreError('unavailable', 'database unavailable: connect ECONNREFUSED');
    });
    const report = await storeHealthSource(store).check();
    expect(report.status).toBe('degraded');
    expect(report.store).toMatchObject({ ok: false, error: 'database unavailable: connect ECONNREFUSED' });
    expect(report.reasons).toEqual(['store unavailable: database unavailable: connect ECONNREFUSED']);
  });

  it('reports a hanging store as down within the ping timeout', async () => {
    const report = await storeHealthSource(fakeStore(() => new Promise<void>(() => undefined)), { pingTimeoutMs: 50 }).check();
    expect(report.status).toBe('degraded');
    expect(report.store.error).toMatch(/did not answer within 50 ms/);
  });
});

describe('pollingDispatcher', () => {
  it('leaves new tasks to the poller and marks nothing queued', async () => {
    expect(pollingDispatcher.queueMarkTtlMs).toBeNull();
    expect(await pollingDispatcher.dispatchNew({} as never)).toBe('poll');
  });
});
