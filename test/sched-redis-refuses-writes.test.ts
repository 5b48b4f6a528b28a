import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SchedFixture, createSchedFixture, getJson, postTask, runsOfTask } from './support/sched-fixture.js';
import { TestRedisServer } from './support/redis-server.js';
import { waitFor } from './support/services.js';

/**
 * A Redis that still answers PING but refuses writes (out of memory with noeviction; a read-only replica after a
 * failover; MISCONF): stream commands fail, so the scheduler must fall back to polling, report it, and return to
 * stream mode by itself once Redis takes writes again (G5).
 */
describe('Redis that answers PING but refuses writes', () => {
  let fx: SchedFixture;
  let server: TestRedisServer;
  let admin: Redis;
  let url: string;

  beforeAll(async () => {
    fx = await createSchedFixture('redis_refuses_writes');
    server = await TestRedisServer.start();
    admin = new Redis({ host: '127.0.0.1', port: server.port });
    ({ url } = await fx.startApp('stream', { redisAddr: server.addr }));
  });

  afterAll(async () => {
    await fx?.stopApps();
    admin?.disconnect();
    await server?.stop();
    await fx?.cleanup();
  });

  it('falls back to polling while writes are refused, and returns to streams when they are taken again', async () => {
    type Health = { status: string; mode: string; reasons: string[]; redis: { ok: boolean } };
    const health = async () => (await getJson<Health>(`${url}/healthz`)).body;
    await waitFor(async () => (await health()).mode === 'redis_streams', { message: 'stream mode' });
    const task = await postTask(url, { name: 'every second', type: 'count', schedule: { every: 1 } });
    await waitFor(async () => (await runsOfTask(fx.store, task.id)).some((r) => r.source !== 'poll' && r.status === 'succeeded'));

    // Out of memory: every write is refused with OOM, PING still answers.
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    await admin.config('SET', 'maxmemory', '1');
    expect(await admin.ping()).toBe('PONG');
    const refusedAt = Date.now();

    const degraded = await waitFor(async () => {
      const report = await health();
      return report.mode === 'db_polling' && report.status === 'degraded' ? report : undefined;
    }, { timeoutMs: 15_000, message: 'the fallback to polling' });
    expect(degraded.redis.ok).toBe(false);
    expect(degraded.reasons.join(' ')).toMatch(/refuses|could not start|OOM/i);
    // The task keeps running, found by the poller.
    await waitFor(async () =>
      (await runsOfTask(fx.store, task.id)).some((r) => r.source === 'poll' && r.status === 'succeeded' && Date.parse(String(r.started_at)) > refusedAt),
    { timeoutMs: 15_000, message: 'a polled run while writes are refused' });

    // Writes are taken again: stream mode comes back on its own.
    await admin.config('SET', 'maxmemory', '0');
    await waitFor(async () => {
      const report = await health();
      return report.mode === 'redis_streams' && report.status === 'ok';
    }, { timeoutMs: 15_000, message: 'stream mode again' });
    const after = await postTask(url, { name: 'after', type: 'count', schedule: { every: 3600 } });
    expect(after.queued_via).toBe('stream');
    await waitFor(async () => (await runsOfTask(fx.store, after.id)).some((r) => r.status === 'succeeded'));
  });
});
