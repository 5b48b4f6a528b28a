import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../internal/app/index.js';
import {
  type SchedFixture,
  createSchedFixture,
  getJson,
  ms,
  postTask,
  runsOfTask,
  streamEntries,
  streamKeys,
} from './support/sched-fixture.js';
import { TestRedisServer, freePort } from './support/redis-server.js';
import { waitFor } from './support/services.js';
import { startTestApp } from './support/test-app.js';

/**
 * Modes: what `POST /tasks` answers (`queued_via`) and where the task goes under each configuration, and G5: a
 * Redis outage switches the scheduler to polling (tasks keep being accepted and run), and stream mode comes
 * back on its own when Redis does, without losing a task.
 */

interface Health {
  status: 'ok' | 'degraded';
  mode: 'redis_streams' | 'db_polling';
  reasons?: string[];
  redis: { configured: boolean; ok: boolean; error?: string };
}

const health = async (url: string) => (await getJson<Health>(`${url}/healthz`)).body;

async function succeededRuns(fx: { store: SchedFixture['store'] }, taskId: number, count = 1) {
  return waitFor(async () => {
    const runs = (await runsOfTask(fx.store, taskId)).filter((r) => r.status === 'succeeded');
    return runs.length >= count ? runs : undefined;
  }, { timeoutMs: 15_000, message: `${count} succeeded runs of task ${taskId}` });
}

/** Whether the row is due and free, so that any poller or publisher will pick it up. */
async function isDue(fx: SchedFixture, taskId: number): Promise<boolean> {
  const row = await fx.store.db.selectFrom('tasks').selectAll().where('id', '=', taskId).executeTakeFirstOrThrow();
  return (
    row.status === 'running' &&
    ms(row.run_after) <= Date.now() &&
    row.lease_token === null &&
    row.queued_until === null &&
    Number(row.attempts) === 0
  );
}

describe('queued_via under each configuration (MySQL)', () => {
  let fx: SchedFixture;

  beforeAll(async () => {
    fx = await createSchedFixture('mode_config');
  });

  afterAll(async () => {
    await fx?.cleanup();
  });

  it('(a) stream mode: answers "stream" and the entry is readable with XRANGE', async () => {
    const { app, url } = await fx.startApp('stream');
    expect(await health(url)).toMatchObject({ status: 'ok', mode: 'redis_streams' });
    // Hold the consumer, so that the entry is still unread (and so never trimmed) when the test reads it.
    await app.scheduler?.pauseStreamReads();
    const created = await postTask(url, { name: 'streamed', type: 'count', schedule: { every: 3600 }, priority: 4 });
    expect(created.queued_via).toBe('stream');

    const p4 = streamKeys(fx.stream)[1] as string;
    const entries = (await streamEntries(fx.redis, p4)).filter((e) => e.fields.task_id === String(created.id));
    expect(entries).toHaveLength(1);
    const fields = entries[0]?.fields ?? {};
    expect(Object.keys(fields).sort()).toEqual(['enqueued_at', 'slot', 'source', 'task_id']);
    expect(fields).toMatchObject({ task_id: String(created.id), slot: created.next_run_at, source: 'api' });
    expect(Number.isNaN(Date.parse(fields.enqueued_at ?? ''))).toBe(false);

    await app.scheduler?.resumeStreamReads();
    const runs = await succeededRuns(fx, created.id);
    expect(runs[0]?.source).toBe('api');
    await fx.stopApps();
  });

  it('(b) APP_ENABLE_REDIS_QUEUE=false: answers "direct", polls, and the task runs', async () => {
    const before = await streamEntries(fx.redis, streamKeys(fx.stream)[2] as string);
    const { url } = await fx.startApp('polling');
    expect(await health(url)).toMatchObject({ status: 'ok', mode: 'db_polling' });
    const created = await postTask(url, { name: 'direct', type: 'count', schedule: { every: 3600 } });
    expect(created.queued_via).toBe('direct');
    const runs = await succeededRuns(fx, created.id);
    // Handed to this process: run directly, or by its own poller if that claimed it a moment earlier.
    expect(['direct', 'poll']).toContain(runs[0]?.source);
    // Nothing was published.
    expect(await streamEntries(fx.redis, streamKeys(fx.stream)[2] as string)).toEqual(before);
    await fx.stopApps();
  });

  it('(c) APP_RUN_SCHEDULER=false with Redis: answers "stream" and leaves the entry for the schedulers', async () => {
    const { app, url } = await fx.startApp('stream', { env: { APP_RUN_SCHEDULER: 'false' } });
    expect(app.scheduler).toBeUndefined();
    const created = await postTask(url, { name: 'api only', type: 'count', schedule: { every: 3600 } });
    expect(created.queued_via).toBe('stream');
    const entries = (await streamEntries(fx.redis, streamKeys(fx.stream)[2] as string)).filter(
      (e) => e.fields.task_id === String(created.id),
    );
    expect(entries.map((e) => e.fields.source)).toEqual(['api']);
    expect(await runsOfTask(fx.store, created.id)).toEqual([]);
    await fx.stopApps();
  });

  it('(d) APP_RUN_SCHEDULER=false with Redis unreachable: answers "poll" and the row is due in the store', async () => {
    const closedPort = await freePort();
    const { url } = await fx.startApp('stream', {
      redisAddr: `127.0.0.1:${closedPort}`,
      env: { APP_RUN_SCHEDULER: 'false' },
    });
    const report = await health(url);
    expect(report.status).toBe('degraded');
    expect(report.redis).toMatchObject({ configured: true, ok: false });
    const created = await postTask(url, { name: 'left for the poller', type: 'count', schedule: { every: 3600 } });
    expect(created.queued_via).toBe('poll');
    // Due, free and not marked as queued: the next poller or publisher anywhere picks it up.
    expect(await isDue(fx, created.id)).toBe(true);
    await fx.stopApps();

    // And one does: a scheduler started later runs it.
    await fx.startApp('polling');
    expect((await succeededRuns(fx, created.id))[0]?.source).toBe('poll');
    await fx.stopApps();
  });
});

describe('Redis outage and return (G5, MySQL)', () => {
  let fx: SchedFixture;
  let server: TestRedisServer;
  let url: string;
  let app: App;

  beforeAll(async () => {
    fx = await createSchedFixture('mode_outage');
    server = await TestRedisServer.start();
    ({ app, url } = await fx.startApp('stream', { redisAddr: server.addr }));
  });

  afterAll(async () => {
    await fx?.stopApps();
    await server?.stop();
    await fx?.cleanup();
  });

  it('falls back to direct scheduling and polling, reports degraded, and returns to streams by itself', async () => {
    expect(await health(url)).toMatchObject({ status: 'ok', mode: 'redis_streams' });
    expect(app.scheduler?.mode).toBe('redis_streams');
    const created: number[] = [];
    const periodic = await postTask(url, { name: 'every second', type: 'count', schedule: { every: 1 } });
    expect(periodic.queued_via).toBe('stream');
    created.push(periodic.id);
    await succeededRuns(fx, periodic.id);

    // Outage.
    await server.stop();
    const outageAt = Date.now();
    const degraded = await waitFor(async () => {
      const report = await health(url);
      return report.status === 'degraded' && report.mode === 'db_polling' ? report : undefined;
    }, { message: 'healthz to report degraded polling' });
    expect(degraded.redis.ok).toBe(false);
    expect(degraded.reasons?.join(' ')).toMatch(/redis/i);

    const duringOutage = await postTask(url, { name: 'created during the outage', type: 'count', schedule: { every: 3600 } });
    expect(duringOutage.queued_via).toBe('direct');
    created.push(duringOutage.id);
    await succeededRuns(fx, duringOutage.id);
    // Due tasks keep running, now found by the poller.
    await waitFor(async () =>
      (await runsOfTask(fx.store, periodic.id)).some((r) => r.status === 'succeeded' && r.source === 'poll' && ms(r.started_at) > outageAt),
    { message: 'the periodic task to run by polling' });

    // Redis returns (empty: it keeps nothing on disk).
    await server.resume();
    const resumedAt = Date.now();
    await waitFor(async () => {
      const report = await health(url);
      return report.status === 'ok' && report.mode === 'redis_streams';
    }, { timeoutMs: 15_000, message: 'healthz to report stream mode again' });

    for (let i = 0; i < 5; i += 1) {
      const after = await postTask(url, { name: `after the outage ${i}`, type: 'count', schedule: { every: 3600 } });
      expect(after.queued_via).toBe('stream');
      created.push(after.id);
      // From the stream: its own entry, or the publisher's if that one was delayed (a claim that failed and left
      // it pending on a loaded machine); not from the poller or the direct path.
      expect(['api', 'periodic']).toContain((await succeededRuns(fx, after.id))[0]?.source);
    }
    await waitFor(async () =>
      (await runsOfTask(fx.store, periodic.id)).some((r) => r.status === 'succeeded' && r.source === 'periodic' && ms(r.started_at) > resumedAt),
    { message: 'the periodic task to run from the stream again' });

    // Nothing lost: every task created ran, and no attempt failed along the way.
    for (const id of created) {
      const runs = await runsOfTask(fx.store, id);
      expect(runs.some((r) => r.status === 'succeeded'), `task ${id} ran`).toBe(true);
    }
    const failed = await fx.store.db.selectFrom('task_runs').select('id').where('status', '!=', 'succeeded').where('status', '!=', 'running').execute();
    expect(failed).toEqual([]);
  });
});

describe('SQLite without Redis', () => {
  let fx: SchedFixture;
  let running: { app: App; url: string } | undefined;

  beforeAll(async () => {
    fx = await createSchedFixture('mode_sqlite', 'sqlite');
  });

  afterAll(async () => {
    await running?.app.stop();
    await fx?.cleanup();
  });

  it('(f) polls and runs tasks', async () => {
    running = await startTestApp({ storeEnv: fx.ts.env });
    const { url } = running;
    expect(await health(url)).toMatchObject({ status: 'ok', mode: 'db_polling', redis: { configured: false } });
    const created = await postTask(url, { name: 'embedded', type: 'count', schedule: { every: 1 } });
    expect(created.queued_via).toBe('direct');
    const runs = await succeededRuns(fx, created.id, 2);
    expect(['direct', 'poll']).toContain(runs[0]?.source);
    expect(runs[1]?.source).toBe('poll');
  });
});
