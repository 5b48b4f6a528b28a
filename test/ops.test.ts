import { Validator } from '@seriousme/openapi-schema-validator';
import type { Express } from 'express';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp } from '../internal/api/index.js';
import { OPERATIONS } from '../internal/api/openapi.js';
import type { App } from '../internal/app/index.js';
import { systemClock } from '../internal/platform/clock.js';
import { silentLogger } from '../internal/platform/logger.js';
import { Metrics } from '../internal/platform/metrics.js';
import { Retention } from '../internal/scheduler/index.js';
import { deadLetterInsert, taskInsert } from '../internal/store/index.js';
import { pollingQueueSource } from './support/queue.js';
import { REDIS_ADDR, type TestStore, createTestStore, uniqueName, waitFor } from './support/services.js';
import { startTestApp } from './support/test-app.js';
import { testRegistry } from './support/test-types.js';
import { testChannelSender } from './support/channel-sender.js';

/** Operations endpoints against a real app in stream mode: metrics, stats, queue, dead letters, OpenAPI. */
describe('operations endpoints', () => {
  let testStore: TestStore;
  let app: App;
  let url: string;
  let redis: Redis;
  const stream = uniqueName('ops');

  beforeAll(async () => {
    testStore = await createTestStore('mysql', 'ops');
    ({ app, url } = await startTestApp({ storeEnv: testStore.env, stream }));
    const [host, port] = REDIS_ADDR.split(':');
    redis = new Redis({ host, port: Number(port) });
  });

  afterAll(async () => {
    await app?.stop();
    await redis?.del(...[1, 2, 3, 4, 5].map((p) => `{${stream}}:p${p}`));
    redis?.disconnect();
    await testStore?.cleanup();
  });

  const api = () => request(url);
  const createTask = async (body: Record<string, unknown>) => {
    const res = await api().post('/tasks').send({ schedule: { every: 3600 }, ...body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body as { id: number };
  };
  const runsOf = (taskId: number) =>
    testStore.store.db.selectFrom('task_runs').selectAll().where('task_id', '=', taskId).execute();

  it('exposes valid Prometheus text whose counters move when runs happen', async () => {
    const before = parseMetrics((await api().get('/metrics')).text);
    const task = await createTask({ name: 'metrics', type: 'count' });
    await waitFor(async () => (await runsOf(task.id)).some((r) => r.status === 'succeeded'));
    const res = await api().get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const after = parseMetrics(res.text);
    const key = 'vigil_runs_total{type="count",outcome="succeeded"}';
    expect((after.get(key) ?? 0) - (before.get(key) ?? 0)).toBe(1);
    expect((after.get('vigil_tasks_created_total') ?? 0) - (before.get('vigil_tasks_created_total') ?? 0)).toBe(1);
    expect(after.get('vigil_worker_pool_size')).toBe(50);
    expect(after.get('vigil_mode{mode="redis_streams"}')).toBe(1);
    expect(after.has('vigil_queue_length')).toBe(true);
    expect(after.get('vigil_run_duration_seconds_count{type="count"}')).toBeGreaterThanOrEqual(1);
    expect(after.get('vigil_schedule_lateness_seconds_count')).toBeGreaterThanOrEqual(1);
    // Bounded cardinality: labels come from fixed sets (types, outcomes, modes, buckets, channel kinds), never task
    // ids. Channel kinds show from the start: labelled counters begin at zero for every known value.
    const labelNames = new Set([...after.keys()].flatMap((k) => [...k.matchAll(/([a-z_]+)="/g)].map((m) => m[1])));
    const vigilLabels = new Set(
      [...after.keys()].filter((k) => k.startsWith('vigil_')).flatMap((k) => [...k.matchAll(/([a-z_]+)="/g)].map((m) => m[1])),
    );
    expect([...vigilLabels].sort()).toEqual(['kind', 'le', 'mode', 'outcome', 'type']);
    expect(labelNames.has('task_id')).toBe(false);
  });

  it('reports /stats and /queue that match a scripted series of runs, failures and dead letters', async () => {
    const ok = [await createTask({ name: 'ok-1', type: 'noop' }), await createTask({ name: 'ok-2', type: 'noop' })];
    const failing = await createTask({ name: 'failing', type: 'fail', max_attempts: 2 });
    await createTask({ name: 'paused', type: 'noop', status: 'paused' });
    for (const t of ok) await waitFor(async () => (await runsOf(t.id)).some((r) => r.status === 'succeeded'));
    await waitFor(async () => (await api().get('/queue/dead')).body.items.some((d: { task_id: number }) => d.task_id === failing.id));

    const stats = (await api().get('/stats')).body;
    expect(stats.by_type.noop).toMatchObject({ created: 3, paused: 1, succeeded: 2, failed: 0 });
    expect(stats.by_type.fail).toMatchObject({ created: 1, succeeded: 0, failed: 2, timed_out: 0 });
    const typeTotals = Object.values(stats.by_type as Record<string, { created: number }>).reduce((a, c) => a + c.created, 0);
    expect(stats.totals.created).toBe(typeTotals);

    const queue = (await api().get('/queue')).body;
    expect(queue.mode).toBe('redis_streams');
    expect(queue.status).toBe('healthy');
    expect(queue.dead_letters).toBe(1);
    expect(queue.streams).toHaveLength(5);
    const p3 = queue.streams.find((s: { priority: number }) => s.priority === 3);
    expect(p3.stream).toBe(`{${stream}}:p3`);
    expect(p3.length).toBe(await redis.xlen(`{${stream}}:p3`));
    expect(p3.groups).toBe(1);
    expect(p3.pending).toBe(0);
    expect(p3.consumers.length).toBeGreaterThanOrEqual(1);
    expect(queue.polling).toMatchObject({ due: 0, running: 0 });
  });

  it('replays a dead letter: the slot runs again, and the letter is gone', async () => {
    const failing = await createTask({ name: 'replay me', type: 'fail', max_attempts: 1 });
    const letter = await waitFor(async () =>
      (await api().get('/queue/dead')).body.items.find((d: { task_id: number }) => d.task_id === failing.id),
    );
    expect(letter).toMatchObject({ reason: 'attempts_exhausted', error: 'always fails' });
    const replay = await api().post(`/queue/dead/${letter.id}/replay`);
    expect(replay.status, JSON.stringify(replay.body)).toBe(202);
    expect(replay.body.replayed).toBe(letter.id);
    await waitFor(async () => (await runsOf(failing.id)).some((r) => r.source === 'manual'), { message: 'a replayed run' });
    const ids = (await api().get('/queue/dead')).body.items.map((d: { id: number }) => d.id);
    expect(ids).not.toContain(letter.id);
    expect((await api().post(`/queue/dead/${letter.id}/replay`)).status).toBe(404);
  });

  it('refuses to replay the dead letter of a paused task, and keeps the letter', async () => {
    const failing = await createTask({ name: 'paused replay', type: 'fail', max_attempts: 1 });
    const letter = await waitFor(async () =>
      (await api().get('/queue/dead')).body.items.find((d: { task_id: number }) => d.task_id === failing.id),
    );
    expect((await api().patch(`/tasks/${failing.id}`).send({ status: 'paused' })).status).toBe(200);
    const replay = await api().post(`/queue/dead/${letter.id}/replay`);
    expect(replay.status).toBe(409);
    expect(replay.body.error.fields).toHaveProperty('status');
    const ids = (await api().get('/queue/dead')).body.items.map((d: { id: number }) => d.id);
    expect(ids).toContain(letter.id);
  });

  it('refuses to replay a dead letter with no task, and deletes one', async () => {
    const id = await deadLetterInsert(testStore.store, {
      taskId: null,
      slot: null,
      reason: 'malformed',
      error: 'task_id is missing',
      fields: { foo: 'bar' },
      now: new Date(),
    });
    const replay = await api().post(`/queue/dead/${id}/replay`);
    expect(replay.status).toBe(409);
    expect(replay.body.error.fields).toHaveProperty('task_id');
    expect((await api().delete(`/queue/dead/${id}`)).status).toBe(204);
    expect((await api().delete(`/queue/dead/${id}`)).status).toBe(404);
    const malformed = await api().get('/queue/dead?reason=malformed');
    expect(malformed.body.items.map((d: { id: number }) => d.id)).not.toContain(id);
  });

  it('serves a valid OpenAPI 3.1 document that covers every route the app serves', async () => {
    const res = await api().get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const result = await new Validator().validate(res.body);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);

    const served = expressRoutes(
      createApiApp({
        store: testStore.store,
        queue: pollingQueueSource(testStore.store, systemClock),
        registry: testRegistry(),
        dispatcher: { queueMarkTtlMs: null, dispatchNew: async () => 'poll', dispatchRunNow: async () => 'poll' },
        health: { check: async () => ({ status: 'ok', mode: 'db_polling', store: { driver: 'mysql', ok: true }, redis: { configured: false, ok: false }, reasons: [] }) },
        logger: silentLogger(),
        metrics: new Metrics({ defaultMetrics: false }),
        clock: systemClock,
        channelSender: testChannelSender(),
        apiTokens: [],
      }),
    );
    const documented = Object.entries(res.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(served.sort());
    expect(OPERATIONS).toHaveLength(served.length);
    expect(res.body.components.schemas).toHaveProperty('Payload_noop');
    expect(res.body.paths['/tasks'].post.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/TaskCreate',
    });
  });
});

describe('housekeeping', () => {
  let testStore: TestStore;

  beforeAll(async () => {
    testStore = await createTestStore('sqlite', 'housekeeping');
  });
  afterAll(async () => {
    await testStore?.cleanup();
  });

  it('retention deletes only runs and dead letters older than the retention, in batches', async () => {
    const { store } = testStore;
    const now = Date.now();
    const task = await taskInsert(store, {
      name: 'old and new',
      type: 'noop',
      payload: {},
      schedule: { every: 60 },
      priority: 3,
      timeoutMs: 1000,
      maxAttempts: 1,
      status: 'running',
      notify: null,
      nextRunAt: new Date(now),
      queuedUntil: null,
      idempotencyKey: null,
      requestHash: null,
      now: new Date(now),
    });
    const day = 86_400_000;
    const ages = [10, 9, 8, 3, 2, 1]; // days; retention is 7 days
    for (const [i, age] of ages.entries()) {
      const at = new Date(now - age * day);
      await store.db
        .insertInto('task_runs')
        .values({ task_id: task.id, slot: at, attempt: 1, source: 'poll', status: 'succeeded', started_at: at, finished_at: at, duration_ms: 1, worker: `w${i}`, output: null, error: null })
        .execute();
      await deadLetterInsert(store, { taskId: task.id, slot: at, reason: 'attempts_exhausted', error: 'x', fields: {}, now: at });
    }
    // A run still in progress is never deleted, however old.
    await store.db
      .insertInto('task_runs')
      .values({ task_id: task.id, slot: new Date(now - 30 * day), attempt: 1, source: 'poll', status: 'running', started_at: new Date(now - 30 * day), finished_at: null, duration_ms: null, worker: 'w', output: null, error: null })
      .execute();

    const retention = new Retention(
      { store, clock: { now: () => now }, logger: silentLogger() },
      { schedule: '* * * * *', retentionMs: 7 * day, batchSize: 2 },
    );
    expect(await retention.runOnce()).toEqual({ runs: 3, deadLetters: 3, notifications: 0 });
    const runs = await store.db.selectFrom('task_runs').select(['started_at', 'status']).execute();
    expect(runs).toHaveLength(4);
    expect(runs.filter((r) => r.status !== 'running').every((r) => new Date(r.started_at).getTime() > now - 7 * day)).toBe(true);
    const letters = await store.db.selectFrom('dead_letters').select('created_at').execute();
    expect(letters).toHaveLength(3);
    expect(letters.every((l) => new Date(l.created_at).getTime() > now - 7 * day)).toBe(true);
    expect(await retention.runOnce()).toEqual({ runs: 0, deadLetters: 0, notifications: 0 });
  });
});

/** `name{labels} value` → value, for every sample; throws on any line that is not valid exposition text. */
function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta !== null) {
      if (meta[1] === 'TYPE') {
        expect(['counter', 'gauge', 'histogram', 'summary', 'untyped']).toContain(meta[3]);
        typed.add(meta[2] as string);
      }
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/.exec(line);
    if (sample === null) throw new Error(`not Prometheus text: ${line}`);
    const name = sample[1] as string;
    const family = name.replace(/_(bucket|sum|count)$/, '');
    if (!typed.has(name) && !typed.has(family)) throw new Error(`sample before its TYPE line: ${line}`);
    samples.set(`${name}${sample[2] ?? ''}`, Number(sample[3]));
  }
  return samples;
}

/** `METHOD /path` for every route of an express app, with `:id` written as OpenAPI's `{id}`. */
function expressRoutes(app: Express): string[] {
  type Layer = { route?: { path: string; methods: Record<string, boolean> }; handle?: { stack?: Layer[] } };
  const out: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route !== undefined) {
        for (const method of Object.keys(layer.route.methods)) {
          out.push(`${method.toUpperCase()} ${layer.route.path.replace(/:([a-z]+)/g, '{$1}')}`);
        }
      } else if (layer.handle?.stack !== undefined) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out;
}
