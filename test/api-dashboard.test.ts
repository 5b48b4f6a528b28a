import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Express } from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiDeps, createApiApp } from '../internal/api/index.js';
import { silentLogger } from '../internal/platform/logger.js';
import { Metrics } from '../internal/platform/metrics.js';
import { type Store, taskInsert } from '../internal/store/index.js';
import { testChannelSender } from './support/channel-sender.js';
import { pollingQueueSource } from './support/queue.js';
import { type Dialect, type TestStore, createTestStore } from './support/services.js';
import { testRegistry } from './support/test-types.js';

/** What the dashboard needs from the API, on both dialects: filters, task read fields, run statistics, /info. */

const NOW = Date.parse('2025-03-01T12:30:20.000Z');
const clock = { now: () => NOW };

function appFor(store: Store, extra: Partial<ApiDeps> = {}): Express {
  return createApiApp({
    store,
    queue: pollingQueueSource(store, clock),
    registry: testRegistry(),
    dispatcher: { queueMarkTtlMs: null, dispatchNew: async () => 'poll', dispatchRunNow: async () => 'poll' },
    health: { check: async () => ({ status: 'ok', mode: 'db_polling', store: { driver: store.dialect, ok: true }, redis: { configured: false, ok: false }, reasons: [] }) },
    logger: silentLogger(),
    metrics: new Metrics({ defaultMetrics: false }),
    clock,
    channelSender: testChannelSender(),
    apiTokens: [],
    ...extra,
  });
}

async function insertTask(store: Store, name: string, fields: { up?: number | null; schedule?: { every: number } | { cron: string; tz?: string } } = {}) {
  const task = await taskInsert(store, {
    name,
    type: 'noop',
    payload: {},
    schedule: fields.schedule ?? { every: 60 },
    priority: 3,
    timeoutMs: 1000,
    maxAttempts: 1,
    status: 'running',
    notify: null,
    nextRunAt: new Date(NOW + 10_000),
    queuedUntil: null,
    idempotencyKey: null,
    requestHash: null,
    now: new Date(NOW),
  });
  if (fields.up !== undefined) await store.db.updateTable('tasks').set({ up: fields.up }).where('id', '=', task.id).execute();
  return task;
}

async function insertRun(store: Store, taskId: number, run: { slot: number; lateMs: number; status?: 'succeeded' | 'failed' | 'running'; attempt?: number; output?: unknown }) {
  const started = new Date(run.slot + run.lateMs);
  await store.db
    .insertInto('task_runs')
    .values({
      task_id: taskId,
      slot: new Date(run.slot),
      attempt: run.attempt ?? 1,
      source: 'poll',
      status: run.status ?? 'succeeded',
      started_at: started,
      finished_at: run.status === 'running' ? null : new Date(started.getTime() + 20),
      duration_ms: run.status === 'running' ? null : 20,
      worker: 'w',
      output: run.output === undefined ? null : JSON.stringify(run.output),
      error: run.status === 'failed' ? 'boom' : null,
    })
    .execute();
}

describe.each(['sqlite', 'mysql'] as Dialect[])('dashboard API on %s', (dialect) => {
  let testStore: TestStore;
  let app: Express;

  beforeAll(async () => {
    testStore = await createTestStore(dialect, `ui_api_${dialect}`);
    app = appFor(testStore.store);
  });
  afterAll(async () => {
    await testStore?.cleanup();
  });

  it('filters tasks by up/down and by a name substring, with % and _ taken literally', async () => {
    const { store } = testStore;
    const up = await insertTask(store, 'Shop feed 100%', { up: 1 });
    const down = await insertTask(store, 'shop_status', { up: 0 });
    const unknown = await insertTask(store, 'nightly sync');
    const ids = async (query: string) => ((await request(app).get(`/tasks?${query}`)).body.items as { id: number }[]).map((t) => t.id);
    expect(await ids('up=true')).toEqual([up.id]);
    expect(await ids('up=false')).toEqual([down.id]);
    expect(await ids('q=SHOP')).toEqual([up.id, down.id]);
    expect(await ids('q=100%25')).toEqual([up.id]);
    expect(await ids('q=p_s')).toEqual([down.id]);
    expect(await ids('q=sync&up=false')).toEqual([]);
    expect(await ids('limit=500')).toEqual(expect.arrayContaining([up.id, down.id, unknown.id]));
    const bad = await request(app).get('/tasks?up=maybe');
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toEqual({ up: 'must be true or false' });
  });

  it('reads a task with its next three runs and its latest finished attempt', async () => {
    const { store } = testStore;
    const every = await insertTask(store, 'every 30', { schedule: { every: 30 } });
    const cron = await insertTask(store, 'cron', { schedule: { cron: '*/5 * * * *', tz: 'Asia/Tokyo' } });
    await insertRun(store, every.id, { slot: NOW - 60_000, lateMs: 5, output: { up: true, latency_ms: 42.5 } });
    await insertRun(store, every.id, { slot: NOW - 30_000, lateMs: 5, output: { up: false, latency_ms: 99 } });
    await insertRun(store, every.id, { slot: NOW, lateMs: 5, status: 'running' });

    const one = (await request(app).get(`/tasks/${every.id}`)).body;
    expect(one.next_runs).toEqual(['2025-03-01T12:30:30.000Z', '2025-03-01T12:31:00.000Z', '2025-03-01T12:31:30.000Z']);
    expect(one.last_run).toMatchObject({ status: 'succeeded', latency_ms: 99, up: false, duration_ms: 20 });
    const list = (await request(app).get('/tasks?q=cron')).body.items;
    expect(list[0].last_run).toBeNull();
    // The next run is at 12:30:30; the cron line's next slots after it, read in Tokyo.
    expect(list[0].next_runs).toEqual(['2025-03-01T12:30:30.000Z', '2025-03-01T12:35:00.000Z', '2025-03-01T12:40:00.000Z']);
    // Writes answer with the plain task.
    const patched = (await request(app).patch(`/tasks/${cron.id}`).send({ priority: 4 })).body;
    expect(patched).not.toHaveProperty('next_runs');
  });

  it('counts runs per minute by status, and first-attempt lateness, over a window', async () => {
    const { store } = testStore;
    const task = await insertTask(store, 'stats');
    const minute = Date.parse('2025-03-01T12:10:00.000Z');
    for (const late of [10, 20, 30, 40, 1000]) await insertRun(store, task.id, { slot: minute + late * 10, lateMs: late });
    await insertRun(store, task.id, { slot: minute + 30_000, lateMs: 50, status: 'failed' });
    // A retry is not late: it is not counted in lateness, only in the runs.
    await insertRun(store, task.id, { slot: minute + 30_000, lateMs: 40_000, attempt: 2 });
    await insertRun(store, task.id, { slot: NOW - 2000, lateMs: 100, status: 'running' });
    // Outside the window.
    await insertRun(store, task.id, { slot: NOW - 2 * 3_600_000, lateMs: 5 });

    const res = await request(app).get('/stats/runs?window=1h');
    expect(res.status).toBe(200);
    const body = res.body as { buckets: { start: string; succeeded: number; failed: number; running: number; lateness_ms: { p50: number; p95: number; max: number } | null }[]; totals: Record<string, unknown>; from: string; to: string };
    expect(body.buckets).toHaveLength(60);
    expect(body.to).toBe('2025-03-01T12:31:00.000Z');
    const at = (iso: string) => body.buckets.find((b) => b.start === iso);
    expect(at('2025-03-01T12:10:00.000Z')).toMatchObject({ succeeded: 5, failed: 1, running: 0 });
    expect(at('2025-03-01T12:10:00.000Z')?.lateness_ms?.max).toBe(1000);
    const p50 = at('2025-03-01T12:10:00.000Z')?.lateness_ms?.p50 ?? -1;
    expect(p50).toBeGreaterThanOrEqual(25);
    expect(p50).toBeLessThanOrEqual(50);
    // The retry started in the next minute.
    expect(at('2025-03-01T12:11:00.000Z')).toMatchObject({ succeeded: 1, lateness_ms: null });
    expect(at('2025-03-01T12:30:00.000Z')?.running).toBeGreaterThanOrEqual(1);
    const sum = (key: 'succeeded' | 'failed' | 'running') => body.buckets.reduce((n, b) => n + b[key], 0);
    expect(body.totals).toMatchObject({ succeeded: sum('succeeded'), failed: 1, running: sum('running') });
    expect(at('2025-03-01T11:40:00.000Z')).toMatchObject({ succeeded: 0, failed: 0, lateness_ms: null });

    expect((await request(app).get('/stats/runs?window=24h')).body.buckets).toHaveLength(96);
    const bad = await request(app).get('/stats/runs?window=2h');
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toHaveProperty('window');
  });

  it('counts monitors up and down in /stats', async () => {
    const stats = (await request(app).get('/stats')).body;
    expect(stats.totals.up).toBe(1);
    expect(stats.totals.down).toBe(1);
  });
});

describe('/info, read-only mode and the dashboard files', () => {
  let testStore: TestStore;
  let dir: string;

  beforeAll(async () => {
    testStore = await createTestStore('sqlite', 'ui_files');
    dir = mkdtempSync(join(tmpdir(), 'vigil-ui-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Vigil</title><div id="root"></div>');
    writeFileSync(join(dir, 'assets/index-abc123.js'), 'console.log(1)');
  });
  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await testStore?.cleanup();
  });

  it('says whether a token is needed and whether the one sent works, without a 401', async () => {
    const app = appFor(testStore.store, {
      apiTokens: [
        { name: 'ops', token: 'right', scope: 'write' },
        { name: 'wall', token: 'looker', scope: 'read' },
      ],
      ui: { dir, readOnly: true },
    });
    const none = await request(app).get('/info');
    expect(none.status).toBe(200);
    expect(none.body).toMatchObject({ version: '0.1.0', read_only: true, auth: { required: true, token: 'none', scope: null } });
    expect(none.body.types).toEqual(expect.arrayContaining(['count', 'fail']));
    expect((await request(app).get('/info').set('Authorization', 'Bearer wrong')).body.auth).toEqual({ required: true, token: 'rejected', scope: null });
    expect((await request(app).get('/info').set('Authorization', 'Bearer right')).body.auth).toEqual({ required: true, token: 'accepted', scope: 'write' });
    // A read token: the dashboard shows itself read-only.
    expect((await request(app).get('/info').set('Authorization', 'Bearer looker')).body.auth).toEqual({ required: true, token: 'accepted', scope: 'read' });
    const open = appFor(testStore.store);
    expect((await request(open).get('/info')).body).toMatchObject({ read_only: false, auth: { required: false, token: 'accepted', scope: 'write' } });
  });

  it('refuses every change the dashboard sends when read-only, and only those', async () => {
    const app = appFor(testStore.store, { ui: { dir, readOnly: true } });
    const task = await insertTask(testStore.store, 'read only');
    const asDashboard = (req: request.Test) => req.set('X-Vigil-Client', 'dashboard');
    for (const req of [
      request(app).post('/tasks').send({ name: 'x', type: 'noop', schedule: { every: 60 } }),
      request(app).patch(`/tasks/${task.id}`).send({ status: 'paused' }),
      request(app).post(`/tasks/${task.id}/run`),
      request(app).delete(`/tasks/${task.id}`),
      request(app).post('/queue/dead/1/replay'),
      request(app).delete('/queue/dead/1'),
    ]) {
      const res = await asDashboard(req);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('forbidden');
    }
    expect((await asDashboard(request(app).get(`/tasks/${task.id}`))).status).toBe(200);
    expect((await request(app).patch(`/tasks/${task.id}`).send({ priority: 2 })).status).toBe(200);
  });

  it('serves the dashboard at /ui/ with its deep links, caches, and a redirect from /, without a token', async () => {
    const app = appFor(testStore.store, { apiTokens: [{ name: 'ops', token: 'right', scope: 'write' }], ui: { dir, readOnly: false } });
    const root = await request(app).get('/');
    expect(root.status).toBe(302);
    expect(root.headers.location).toBe('/ui/');
    expect((await request(app).get('/ui?x=1')).headers.location).toBe('/ui/?x=1');
    const index = await request(app).get('/ui/');
    expect(index.status).toBe(200);
    expect(index.text).toContain('<div id="root">');
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.headers['content-security-policy']).toContain("script-src 'self'");
    const deep = await request(app).get('/ui/tasks/12');
    expect(deep.status).toBe(200);
    expect(deep.text).toContain('<div id="root">');
    const asset = await request(app).get('/ui/assets/index-abc123.js');
    expect(asset.status).toBe(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await request(app).get('/ui/assets/missing-1.js')).status).toBe(404);
    // The API itself still wants the token.
    expect((await request(app).get('/tasks')).status).toBe(401);
    // The dashboard's router runs for its own paths only, matched as express matches them (case-insensitively), and
    // a path that merely starts with the letters is the API's.
    expect((await request(app).get('/UI/tasks/12')).text).toContain('<div id="root">');
    expect((await request(app).get('/uix')).status).toBe(401);
  });

  it('explains how to build the dashboard when it was not built, instead of failing', async () => {
    const app = appFor(testStore.store, { ui: { dir: join(dir, 'nothing-here'), readOnly: false } });
    const res = await request(app).get('/ui/tasks');
    expect(res.status).toBe(503);
    expect(res.text).toContain('make build');
    expect((await request(appFor(testStore.store)).get('/ui/')).status).toBe(503);
  });
});
