import { once } from 'node:events';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type HealthSource,
  type QueuedVia,
  type ApiToken,
  type TaskDispatcher,
  createApiApp,
  errorBodySchema,
  healthReportJsonSchema,
  pollingDispatcher,
  runListJsonSchema,
  storeHealthSource,
  taskCreatedJsonSchema,
  taskJsonSchema,
  taskListJsonSchema,
} from '../internal/api/index.js';
import { HandlerRegistry, defineTaskType, noopType } from '../internal/handlers/index.js';
import { silentLogger } from '../internal/platform/logger.js';
import { Metrics } from '../internal/platform/metrics.js';
import { type Store, type Task, taskGetById } from '../internal/store/index.js';
import { createTask } from '../internal/api/task-create.js';
import { requestHash } from '../internal/api/idempotency.js';
import { parseTaskCreate } from '../internal/api/task-input.js';
import { type Dialect, type TestStore, createTestStore } from './support/services.js';
import { pollingQueueSource } from './support/queue.js';
import { testChannelSender } from './support/channel-sender.js';

/**
 * The task API end to end, over HTTP, against a real store of each dialect: validation, idempotency, pagination,
 * changes, deletion, auth and probes. Each dialect gets its own database or file.
 */

/** A controllable clock: tests set "now" and check the slots the API computes from it. */
class TestClock {
  constructor(public current: number) {}
  now = (): number => this.current;
  advance(ms: number): void {
    this.current += ms;
  }
}

/** A dispatcher that records what it was told, and claims to have published to the stream. */
class RecordingDispatcher implements TaskDispatcher {
  readonly queueMarkTtlMs = 30_000;
  readonly dispatched: Task[] = [];
  readonly runNow: Task[] = [];
  async dispatchNew(task: Task): Promise<QueuedVia> {
    this.dispatched.push(task);
    return 'stream';
  }
  async dispatchRunNow(task: Task): Promise<QueuedVia> {
    this.runNow.push(task);
    return 'stream';
  }
}

/** A type with a payload that can be wrong in a named field. */
const probeType = defineTaskType({
  name: 'probe',
  payloadSchema: z.strictObject({ url: z.url(), expect_status: z.int().min(100).max(599).default(200) }),
  run: async () => ({ ok: true }),
});

function registry(): HandlerRegistry {
  return new HandlerRegistry()
    .register(noopType)
    .register(probeType)
    .register({ ...noopType, name: 'pager' })
    .register({ ...noopType, name: 'filtered' });
}

const T0 = Date.parse('2031-05-01T10:00:00.000Z');

function validTask(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'shop feed', type: 'noop', schedule: { every: 60 }, ...overrides };
}

interface Harness {
  server: Server;
  api: ReturnType<typeof request>;
  close(): Promise<void>;
}

async function serve(
  store: Store,
  options: { clock: TestClock; metrics?: Metrics; dispatcher?: TaskDispatcher; apiTokens?: ApiToken[]; health?: HealthSource },
): Promise<Harness> {
  const app = createApiApp({
    store,
    queue: pollingQueueSource(store, options.clock),
    registry: registry(),
    dispatcher: options.dispatcher ?? pollingDispatcher,
    health: options.health ?? storeHealthSource(store),
    logger: silentLogger(),
    metrics: options.metrics ?? new Metrics({ defaultMetrics: false }),
    clock: options.clock,
    channelSender: testChannelSender(),
    apiTokens: options.apiTokens ?? [],
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    api: request(server),
    close: () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))),
  };
}

/** Asserts the exact error shape of DESIGN §4, the status and code, and (when given) the field it names. */
function expectError(res: request.Response, status: number, code: string, field?: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = errorBodySchema.parse(res.body);
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  if (field !== undefined) expect(Object.keys(body.error.fields ?? {})).toContain(field);
}

async function countTasks(store: Store, where: { idempotencyKey?: string } = {}): Promise<number> {
  let query = store.db.selectFrom('tasks').select((eb) => eb.fn.countAll().as('n'));
  if (where.idempotencyKey !== undefined) query = query.where('idempotency_key', '=', where.idempotencyKey);
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.n);
}

async function tasksCreatedTotal(metrics: Metrics): Promise<number> {
  return (await metrics.tasksCreated.get()).values[0]?.value ?? 0;
}

const DIALECTS: Dialect[] = ['mysql', 'sqlite'];

describe.each(DIALECTS)('tasks API on %s', (dialect) => {
  let testStore: TestStore;
  let store: Store;
  let clock: TestClock;
  let metrics: Metrics;
  let harness: Harness;
  let api: Harness['api'];

  beforeAll(async () => {
    testStore = await createTestStore(dialect, `api_tasks_${dialect}`);
    store = testStore.store;
    clock = new TestClock(T0);
    metrics = new Metrics({ defaultMetrics: false });
    harness = await serve(store, { clock, metrics });
    api = harness.api;
  });

  afterAll(async () => {
    await harness?.close();
    await testStore?.cleanup();
  });

  async function create(overrides: Record<string, unknown> = {}): Promise<z.output<typeof taskCreatedJsonSchema>> {
    const res = await api.post('/tasks').send(validTask(overrides));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return taskCreatedJsonSchema.parse(res.body);
  }

  describe('POST /tasks', () => {
    it('creates the task with defaults, due now, and the row is in the store', async () => {
      const before = await tasksCreatedTotal(metrics);
      const res = await api.post('/tasks').send(validTask({ name: 'created', payload: {} }));
      expect(res.status).toBe(201);
      const task = taskCreatedJsonSchema.parse(res.body);
      expect(task).toMatchObject({
        name: 'created',
        type: 'noop',
        payload: {},
        schedule: { every: 60 },
        priority: 3,
        timeout_ms: 30_000,
        max_attempts: 3,
        status: 'running',
        notify: null,
        next_run_at: new Date(T0).toISOString(),
        last_run_at: null,
        last_status: null,
        created_at: new Date(T0).toISOString(),
        updated_at: new Date(T0).toISOString(),
        queued_via: 'poll',
      });
      expect(await tasksCreatedTotal(metrics)).toBe(before + 1);

      const row = await taskGetById(store, task.id);
      expect(row).toMatchObject({
        name: 'created',
        type: 'noop',
        schedule: { every: 60 },
        priority: 3,
        timeoutMs: 30_000,
        maxAttempts: 3,
        status: 'running',
        notify: null,
      });
      expect(row?.nextRunAt.toISOString()).toBe(new Date(T0).toISOString());

      const read = await api.get(`/tasks/${task.id}`);
      expect(read.status).toBe(200);
      const { queued_via: _queuedVia, ...withoutQueuedVia } = task;
      // Reads add the next slots and the latest finished attempt to what the create answered.
      const { next_runs: nextRuns, last_run: lastRun, ...asCreated } = taskJsonSchema.parse(read.body);
      expect(asCreated).toEqual(withoutQueuedVia);
      expect(nextRuns).toEqual([0, 60_000, 120_000].map((ms) => new Date(T0 + ms).toISOString()));
      expect(lastRun).toBeNull();
    });

    it('keeps every field it was given: cron with a zone, notify, priority, limits, paused', async () => {
      const notify = { webhook_url: 'https://hooks.example.com/vigil', on: ['down', 'up'] };
      const task = await create({
        name: 'tokyo',
        type: 'probe',
        payload: { url: 'https://example.com/feed.json' },
        schedule: { cron: '*/5 * * * *', tz: 'Asia/Tokyo' },
        priority: 5,
        timeout_ms: 100,
        max_attempts: 100,
        status: 'paused',
        notify,
      });
      expect(task).toMatchObject({
        schedule: { cron: '*/5 * * * *', tz: 'Asia/Tokyo' },
        priority: 5,
        timeout_ms: 100,
        max_attempts: 100,
        status: 'paused',
        notify,
        // The type's schema fills its defaults in.
        payload: { url: 'https://example.com/feed.json', expect_status: 200 },
      });
      const row = await taskGetById(store, task.id);
      expect(row?.schedule).toEqual({ cron: '*/5 * * * *', tz: 'Asia/Tokyo' });
      expect(row?.notify).toEqual(notify);
    });

    it('marks the row queued and reports how the dispatcher queued it', async () => {
      const dispatcher = new RecordingDispatcher();
      const other = await serve(store, { clock, dispatcher });
      try {
        const res = await other.api.post('/tasks').send(validTask({ name: 'streamed' }));
        expect(res.status).toBe(201);
        expect(res.body.queued_via).toBe('stream');
        expect(dispatcher.dispatched.map((t) => t.id)).toEqual([res.body.id]);
        const row = await store.db
          .selectFrom('tasks')
          .select('queued_until')
          .where('id', '=', res.body.id as number)
          .executeTakeFirstOrThrow();
        expect(new Date(row.queued_until as Date | string).toISOString()).toBe(new Date(T0 + 30_000).toISOString());
      } finally {
        await other.close();
      }
    });

    it('answers 201 even when a dispatcher breaks its promise and throws', async () => {
      const throwing: TaskDispatcher = {
        queueMarkTtlMs: null,
        dispatchNew: async () => {
          throw new Error('publish exploded');
        },
        dispatchRunNow: async () => {
          throw new Error('publish exploded');
        },
      };
      const other = await serve(store, { clock, dispatcher: throwing });
      try {
        const res = await other.api.post('/tasks').send(validTask({ name: 'dispatch-failed' }));
        expect(res.status).toBe(201);
        expect(res.body.queued_via).toBe('poll');
        expect(await taskGetById(store, res.body.id as number)).toBeDefined();
      } finally {
        await other.close();
      }
    });

    const refused: [string, unknown, string][] = [
      ['an unknown field', validTask({ colour: 'red' }), 'colour'],
      ['an unknown schedule field', validTask({ schedule: { every: 5, offset: 1 } }), 'schedule.offset'],
      ['an unknown notify field', validTask({ notify: { webhook_url: 'https://x.example', on: ['up'], x: 1 } }), 'notify.x'],
      ['every = 0', validTask({ schedule: { every: 0 } }), 'schedule.every'],
      ['every above a year', validTask({ schedule: { every: 31_536_001 } }), 'schedule.every'],
      ['a fractional every', validTask({ schedule: { every: 1.5 } }), 'schedule.every'],
      ['a string every', validTask({ schedule: { every: '60' } }), 'schedule.every'],
      ['a malformed cron', validTask({ schedule: { cron: 'every day' } }), 'schedule.cron'],
      ['a cron minute of 61', validTask({ schedule: { cron: '61 * * * *' } }), 'schedule.cron'],
      ['a cron that is not a string', validTask({ schedule: { cron: 5 } }), 'schedule.cron'],
      ['an unknown time zone', validTask({ schedule: { cron: '0 * * * *', tz: 'Mars/Olympus_Mons' } }), 'schedule.tz'],
      ['both every and cron', validTask({ schedule: { every: 5, cron: '* * * * *' } }), 'schedule'],
      ['an empty schedule', validTask({ schedule: {} }), 'schedule'],
      ['no schedule', { name: 'x', type: 'noop' }, 'schedule'],
      ['priority 0', validTask({ priority: 0 }), 'priority'],
      ['priority 6', validTask({ priority: 6 }), 'priority'],
      ['a fractional priority', validTask({ priority: 2.5 }), 'priority'],
      ['timeout_ms below 100', validTask({ timeout_ms: 99 }), 'timeout_ms'],
      ['timeout_ms above an hour', validTask({ timeout_ms: 3_600_001 }), 'timeout_ms'],
      ['max_attempts 0', validTask({ max_attempts: 0 }), 'max_attempts'],
      ['max_attempts 101', validTask({ max_attempts: 101 }), 'max_attempts'],
      ['an empty name', validTask({ name: '' }), 'name'],
      ['a 201-character name', validTask({ name: 'n'.repeat(201) }), 'name'],
      ['no name', { type: 'noop', schedule: { every: 5 } }, 'name'],
      ['an unknown status', validTask({ status: 'stopped' }), 'status'],
      ['an unknown type', validTask({ type: 'teleport' }), 'type'],
      ['a payload that is not an object', validTask({ payload: [1, 2] }), 'payload'],
      ['a payload field noop does not know', validTask({ payload: { url: 'https://example.com' } }), 'payload.url'],
      ['a payload with a bad url', validTask({ type: 'probe', payload: { url: 'not a url' } }), 'payload.url'],
      ['a payload without its required url', validTask({ type: 'probe', payload: {} }), 'payload.url'],
      ['a webhook that is not http', validTask({ notify: { webhook_url: 'ftp://x.example/a', on: ['up'] } }), 'notify.webhook_url'],
      ['notify with no events', validTask({ notify: { webhook_url: 'https://x.example', on: [] } }), 'notify.on'],
      ['notify with an unknown event', validTask({ notify: { webhook_url: 'https://x.example', on: ['sideways'] } }), 'notify.on.0'],
      ['a body that is an array', [validTask()], 'body'],
    ];

    it.each(refused)('refuses %s with 400 naming the field, and creates nothing', async (_label, body, field) => {
      const before = await countTasks(store);
      const res = await api.post('/tasks').send(body as object);
      expectError(res, 400, 'validation_failed', field);
      expect(await countTasks(store)).toBe(before);
    });

    it('reports every bad field of a request at once, including the payload', async () => {
      const res = await api
        .post('/tasks')
        .send(validTask({ type: 'probe', payload: { url: 'nope' }, priority: 9, schedule: { every: 0 } }));
      expectError(res, 400, 'validation_failed');
      expect(Object.keys(res.body.error.fields).sort()).toEqual(['payload.url', 'priority', 'schedule.every']);
    });

    it('answers 413 above 64 KiB, 415 for text/plain and 400 for malformed JSON', async () => {
      const before = await countTasks(store);
      const big = await api.post('/tasks').send(validTask({ payload: { blob: 'x'.repeat(70 * 1024) } }));
      expectError(big, 413, 'payload_too_large', 'body');

      const text = await api.post('/tasks').set('Content-Type', 'text/plain').send('name=shop');
      expectError(text, 415, 'unsupported_media_type', 'body');

      const malformed = await api.post('/tasks').set('Content-Type', 'application/json').send('{"name": "x", ');
      expectError(malformed, 400, 'invalid_json', 'body');
      // The parser's message quotes the body; it must not reach the client.
      expect(JSON.stringify(malformed.body)).not.toContain('"name": "x"');

      // An empty JSON body is an empty object, missing its required fields; no body at all is a missing body.
      const empty = await api.post('/tasks').set('Content-Type', 'application/json');
      expectError(empty, 400, 'validation_failed', 'name');
      const none = await api.post('/tasks');
      expectError(none, 400, 'validation_failed', 'body');
      expect(await countTasks(store)).toBe(before);
    });
  });

  describe('idempotency', () => {
    it('returns the same task for the same key and body, and refuses another body under that key', async () => {
      const key = `create-${randomUUID()}`;
      const createdBefore = await tasksCreatedTotal(metrics);
      const body = validTask({ name: 'idempotent', payload: {}, schedule: { every: 30 }, priority: 4 });
      const first = await api.post('/tasks').set('Idempotency-Key', key).send(body);
      expect(first.status).toBe(201);
      expect(first.headers['idempotent-replayed']).toBeUndefined();

      // Same request, keys in another order: the canonical body is the same.
      const reordered = { priority: 4, schedule: { every: 30 }, payload: {}, type: 'noop', name: 'idempotent' };
      const second = await api.post('/tasks').set('Idempotency-Key', key).send(reordered);
      expect(second.status).toBe(201);
      expect(second.headers['idempotent-replayed']).toBe('true');
      expect(second.body.id).toBe(first.body.id);
      expect(second.body.queued_via).toBe('poll');
      expect(await countTasks(store, { idempotencyKey: key })).toBe(1);
      expect(await tasksCreatedTotal(metrics)).toBe(createdBefore + 1);

      const different = await api.post('/tasks').set('Idempotency-Key', key).send({ ...body, priority: 5 });
      expectError(different, 409, 'idempotency_conflict', 'Idempotency-Key');
      expect(await countTasks(store, { idempotencyKey: key })).toBe(1);
    });

    it('refuses an empty or overlong key rather than ignoring it', async () => {
      const before = await countTasks(store);
      expectError(await api.post('/tasks').set('Idempotency-Key', 'k'.repeat(201)).send(validTask()), 400, 'validation_failed', 'Idempotency-Key');
      expectError(await api.post('/tasks').set('Idempotency-Key', '').send(validTask()), 400, 'validation_failed', 'Idempotency-Key');
      expect(await countTasks(store)).toBe(before);
    });

    it('makes exactly one task from concurrent creates with the same key', async () => {
      const key = `race-${randomUUID()}`;
      const body = validTask({ name: 'raced' });
      const responses = await Promise.all(
        Array.from({ length: 12 }, () => api.post('/tasks').set('Idempotency-Key', key).send(body)),
      );
      expect(responses.map((r) => r.status)).toEqual(Array(12).fill(201));
      expect(new Set(responses.map((r) => r.body.id as number)).size).toBe(1);
      expect(responses.filter((r) => r.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
      expect(await countTasks(store, { idempotencyKey: key })).toBe(1);
    });

    it('answers creates that raced past the key lookup from the winning insert', async () => {
      // Started in one tick, every create looks the key up before any of them inserts, so all but one insert hit
      // the unique key: the path a retry storm across several API processes takes.
      const key = `lookup-race-${randomUUID()}`;
      const body = validTask({ name: 'lookup race' });
      const deps = { store, dispatcher: pollingDispatcher, metrics, clock, logger: silentLogger() };
      const input = parseTaskCreate(body, registry());
      // Open enough MySQL connections first, so that the lookups run side by side instead of queueing for a connect.
      await Promise.all(Array.from({ length: 8 }, () => store.ping()));
      const results = await Promise.all(
        Array.from({ length: 8 }, () => createTask(deps, { input, idempotency: { key, requestHash: requestHash(body) } })),
      );
      expect(new Set(results.map((r) => r.task.id)).size).toBe(1);
      expect(results.filter((r) => !r.replayed)).toHaveLength(1);
      expect(await countTasks(store, { idempotencyKey: key })).toBe(1);

      const other = validTask({ name: 'lookup race, other body' });
      const conflicting = await Promise.allSettled(
        Array.from({ length: 4 }, () =>
          createTask(deps, { input: parseTaskCreate(other, registry()), idempotency: { key, requestHash: requestHash(other) } }),
        ),
      );
      expect(conflicting.map((r) => (r.status === 'rejected' ? (r.reason as { code?: string }).code : 'created'))).toEqual(
        Array(4).fill('idempotency_conflict'),
      );
    });
  });

  describe('GET /tasks', () => {
    it('walks every page once, in id order, and ends with a null cursor', async () => {
      const created: number[] = [];
      for (let i = 0; i < 7; i++) created.push((await create({ name: `page ${i}`, type: 'pager' })).id);

      const seen: number[] = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      do {
        const res: request.Response = await api.get('/tasks').query({ type: 'pager', limit: 3, ...(cursor ? { cursor } : {}) });
        expect(res.status).toBe(200);
        const page = taskListJsonSchema.parse(res.body);
        sizes.push(page.items.length);
        seen.push(...page.items.map((t) => t.id));
        cursor = page.next_cursor;
      } while (cursor !== null);
      expect(sizes).toEqual([3, 3, 1]);
      expect(seen).toEqual(created);

      // Unfiltered, small pages: every task exactly once.
      const all: number[] = [];
      cursor = null;
      do {
        const res: request.Response = await api.get('/tasks').query({ limit: 4, ...(cursor ? { cursor } : {}) });
        const page = taskListJsonSchema.parse(res.body);
        all.push(...page.items.map((t) => t.id));
        cursor = page.next_cursor;
      } while (cursor !== null);
      expect(new Set(all).size).toBe(all.length);
      expect(all.length).toBe(await countTasks(store));
      expect([...all].sort((a, b) => a - b)).toEqual(all);
    });

    it('filters by status and type', async () => {
      const paused = await create({ name: 'filtered paused', type: 'filtered', status: 'paused' });
      const running = await create({ name: 'filtered running', type: 'filtered' });

      const byType = taskListJsonSchema.parse((await api.get('/tasks?type=filtered')).body);
      expect(byType.items.map((t) => t.id)).toEqual([paused.id, running.id]);

      const both = taskListJsonSchema.parse((await api.get('/tasks?type=filtered&status=paused')).body);
      expect(both.items.map((t) => t.id)).toEqual([paused.id]);

      const allPaused = taskListJsonSchema.parse((await api.get('/tasks?status=paused&limit=500')).body);
      expect(allPaused.items.length).toBeGreaterThan(0);
      expect(allPaused.items.every((t) => t.status === 'paused')).toBe(true);
      expect(allPaused.items.map((t) => t.id)).toContain(paused.id);
      expect(allPaused.items.map((t) => t.id)).not.toContain(running.id);
    });

    it.each([
      ['status=stopped', 'status'],
      ['status=running&status=paused', 'status'],
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=ten', 'limit'],
      ['limit=2.5', 'limit'],
      ['cursor=%21%21%21', 'cursor'],
      ['colour=red', 'colour'],
    ])('refuses ?%s with 400 naming the parameter', async (query, field) => {
      expectError(await api.get(`/tasks?${query}`), 400, 'validation_failed', field);
    });
  });

  describe('one task', () => {
    it('answers 404 naming the id for a task that does not exist, and 400 for an id that is not one', async () => {
      for (const res of [
        await api.get('/tasks/987654321'),
        await api.patch('/tasks/987654321').send({ name: 'x' }),
        await api.delete('/tasks/987654321'),
        await api.get('/tasks/987654321/runs'),
      ]) {
        expectError(res, 404, 'not_found', 'id');
      }
      for (const id of ['abc', '0', '-1', '1.5', '1e3', '99999999999999999999']) {
        expectError(await api.get(`/tasks/${id}`), 400, 'validation_failed', 'id');
      }
    });

    it('answers 404 JSON for an unknown route', async () => {
      expectError(await api.get('/no/such/route'), 404, 'not_found');
      expectError(await api.put('/tasks/1').send({}), 404, 'not_found');
    });

    it('pauses and resumes', async () => {
      const task = await create({ name: 'pausable' });
      const paused = await api.patch(`/tasks/${task.id}`).send({ status: 'paused' });
      expect(paused.status).toBe(200);
      expect(taskJsonSchema.parse(paused.body).status).toBe('paused');
      expect((await taskGetById(store, task.id))?.status).toBe('paused');

      const resumed = await api.patch(`/tasks/${task.id}`).send({ status: 'running' });
      expect(resumed.body.status).toBe('running');
      expect((await taskGetById(store, task.id))?.status).toBe('running');
    });

    it('moves next_run_at to the first slot of a changed schedule, and only then', async () => {
      const task = await create({ name: 'rescheduled' });
      expect(task.next_run_at).toBe(new Date(T0).toISOString());
      clock.advance(10 * 60_000);
      const t1 = clock.current;

      const renamed = await api.patch(`/tasks/${task.id}`).send({ name: 'renamed' });
      expect(renamed.body).toMatchObject({ name: 'renamed', next_run_at: new Date(T0).toISOString(), updated_at: new Date(t1).toISOString() });

      const hourly = await api.patch(`/tasks/${task.id}`).send({ schedule: { every: 3600 } });
      expect(hourly.status).toBe(200);
      expect(hourly.body.schedule).toEqual({ every: 3600 });
      expect(hourly.body.next_run_at).toBe(new Date(t1 + 3_600_000).toISOString());
      expect((await taskGetById(store, task.id))?.nextRunAt.toISOString()).toBe(new Date(t1 + 3_600_000).toISOString());

      // Re-sending the same schedule later must not postpone the slot.
      clock.advance(60_000);
      const same = await api.patch(`/tasks/${task.id}`).send({ schedule: { every: 3600 } });
      expect(same.body.next_run_at).toBe(new Date(t1 + 3_600_000).toISOString());

      // 2031-05-01T10:11Z is 19:11 in Tokyo; the next noon there is 03:00 UTC the day after.
      const cron = await api.patch(`/tasks/${task.id}`).send({ schedule: { cron: '0 12 * * *', tz: 'Asia/Tokyo' } });
      expect(cron.body.schedule).toEqual({ cron: '0 12 * * *', tz: 'Asia/Tokyo' });
      expect(cron.body.next_run_at).toBe('2031-05-02T03:00:00.000Z');
    });

    it('re-checks the payload when the type changes, and a new payload against the type', async () => {
      const task = await create({ name: 'retyped' });
      expectError(await api.patch(`/tasks/${task.id}`).send({ type: 'probe' }), 400, 'validation_failed', 'payload.url');
      expectError(await api.patch(`/tasks/${task.id}`).send({ type: 'teleport' }), 400, 'validation_failed', 'type');
      expectError(await api.patch(`/tasks/${task.id}`).send({ payload: { url: 'https://example.com' } }), 400, 'validation_failed', 'payload.url');
      expect((await taskGetById(store, task.id))?.type).toBe('noop');

      const retyped = await api.patch(`/tasks/${task.id}`).send({ type: 'probe', payload: { url: 'https://example.com' } });
      expect(retyped.status).toBe(200);
      expect(retyped.body).toMatchObject({ type: 'probe', payload: { url: 'https://example.com', expect_status: 200 } });
      expectError(await api.patch(`/tasks/${task.id}`).send({ payload: { url: 'nope' } }), 400, 'validation_failed', 'payload.url');

      const notify = { webhook_url: 'http://hooks.example.com/a', on: ['changed'] };
      expect((await api.patch(`/tasks/${task.id}`).send({ notify })).body.notify).toEqual(notify);
      expect((await api.patch(`/tasks/${task.id}`).send({ notify: null })).body.notify).toBeNull();
      expect((await taskGetById(store, task.id))?.notify).toBeNull();
    });

    it.each([
      ['no fields', {}, 'body'],
      ['an unknown field', { colour: 'red' }, 'colour'],
      ['a bad every', { schedule: { every: 0 } }, 'schedule.every'],
      ['a bad priority', { priority: 7 }, 'priority'],
      ['an empty name', { name: '' }, 'name'],
    ])('refuses a change with %s', async (_label, body, field) => {
      const task = await create({ name: 'unchanged' });
      expectError(await api.patch(`/tasks/${task.id}`).send(body), 400, 'validation_failed', field);
      const row = await taskGetById(store, task.id);
      expect(row?.name).toBe('unchanged');
      expect(row?.updatedAt.toISOString()).toBe(task.updated_at);
    });

    it('deletes, then answers 404', async () => {
      const task = await create({ name: 'doomed' });
      const res = await api.delete(`/tasks/${task.id}`);
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expect(await taskGetById(store, task.id)).toBeUndefined();
      expectError(await api.get(`/tasks/${task.id}`), 404, 'not_found', 'id');
      expectError(await api.delete(`/tasks/${task.id}`), 404, 'not_found', 'id');
    });
  });

  describe('POST /tasks/:id/run', () => {
    it('makes the task due now and hands it to the dispatcher', async () => {
      const dispatcher = new RecordingDispatcher();
      const other = await serve(store, { clock, dispatcher });
      try {
        const created = await other.api.post('/tasks').send(validTask({ name: 'run me', schedule: { every: 3600 } }));
        expect(created.status).toBe(201);
        // Its first slot ran long ago (as far as the row knows): the next one is an hour away.
        await store.db
          .updateTable('tasks')
          .set({ next_run_at: new Date(clock.now() + 3_600_000), run_after: new Date(clock.now() + 3_600_000) })
          .where('id', '=', created.body.id)
          .execute();
        clock.advance(5_000);
        const res = await other.api.post(`/tasks/${created.body.id}/run`);
        expect(res.status, JSON.stringify(res.body)).toBe(202);
        expect(res.body.queued_via).toBe('stream');
        expect(res.body.next_run_at).toBe(new Date(clock.now()).toISOString());
        expect(dispatcher.runNow.map((t) => t.id)).toEqual([created.body.id]);
        const row = await store.db.selectFrom('tasks').selectAll().where('id', '=', created.body.id).executeTakeFirstOrThrow();
        expect(row.pending_source).toBe('manual');
        expect(new Date(row.queued_until as Date | string).getTime()).toBe(clock.now() + 30_000);
      } finally {
        await other.close();
      }
    });

    it('answers 404 for a missing task and 409 for a paused one', async () => {
      expectError(await api.post('/tasks/999999/run'), 404, 'not_found', 'id');
      const paused = await create({ name: 'paused run', status: 'paused' });
      expectError(await api.post(`/tasks/${paused.id}/run`), 409, 'conflict', 'status');
    });
  });

  describe('GET /tasks/:id/runs', () => {
    it('is empty for a new task', async () => {
      const task = await create({ name: 'never run' });
      const res = await api.get(`/tasks/${task.id}/runs`);
      expect(res.status).toBe(200);
      expect(runListJsonSchema.parse(res.body)).toEqual({ items: [], next_cursor: null });
    });

    it('lists runs newest first, one page at a time', async () => {
      const task = await create({ name: 'ran' });
      for (let attempt = 1; attempt <= 5; attempt++) {
        await store.db
          .insertInto('task_runs')
          .values({
            task_id: task.id,
            slot: new Date(T0),
            attempt,
            source: 'poll',
            status: attempt === 5 ? 'succeeded' : 'failed',
            started_at: new Date(T0 + attempt * 1000),
            finished_at: new Date(T0 + attempt * 1000 + 12),
            duration_ms: 12,
            worker: 'test:1',
            output: attempt === 5 ? JSON.stringify({ up: true }) : null,
            error: attempt === 5 ? null : 'boom',
          })
          .execute();
      }
      const attempts: number[] = [];
      let cursor: string | null = null;
      do {
        const res: request.Response = await api.get(`/tasks/${task.id}/runs`).query({ limit: 2, ...(cursor ? { cursor } : {}) });
        expect(res.status).toBe(200);
        const page = runListJsonSchema.parse(res.body);
        attempts.push(...page.items.map((r) => r.attempt));
        if (page.items[0]?.attempt === 5) {
          expect(page.items[0]).toMatchObject({
            task_id: task.id,
            slot: new Date(T0).toISOString(),
            source: 'poll',
            status: 'succeeded',
            duration_ms: 12,
            worker: 'test:1',
            output: { up: true },
            error: null,
          });
        }
        cursor = page.next_cursor;
      } while (cursor !== null);
      expect(attempts).toEqual([5, 4, 3, 2, 1]);
    });
  });

  describe('probes and plumbing', () => {
    it('reports health, readiness and metrics', async () => {
      const health = await api.get('/healthz');
      expect(health.status).toBe(200);
      const report = healthReportJsonSchema.parse(health.body);
      expect(report).toMatchObject({ status: 'ok', mode: 'db_polling', store: { driver: dialect, ok: true }, reasons: [] });

      const ready = await api.get('/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body).toEqual({ ready: true });

      const scraped = await api.get('/metrics');
      expect(scraped.status).toBe(200);
      expect(scraped.text).toMatch(/^vigil_tasks_created_total [1-9]/m);
    });

    it('echoes a sane X-Request-Id and replaces one that is not', async () => {
      const kept = await api.get('/healthz').set('X-Request-Id', 'trace-123.abc:9');
      expect(kept.headers['x-request-id']).toBe('trace-123.abc:9');
      const replaced = await api.get('/healthz').set('X-Request-Id', 'evil\tvalue {"injected":true}');
      expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      const fresh = await api.get('/healthz');
      expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });

    describe('with API tokens', () => {
      let secured: Harness;
      beforeAll(async () => {
        secured = await serve(store, {
          clock,
          apiTokens: [
            { name: 'one', token: 'token-one', scope: 'write' },
            { name: 'two', token: 'token-two', scope: 'write' },
          ],
        });
      });
      afterAll(async () => {
        await secured?.close();
      });

      it('answers 401 without a token, with a wrong one, or with another scheme', async () => {
        const attempts = [
          secured.api.get('/tasks'),
          secured.api.get('/tasks').set('Authorization', 'Bearer token-three'),
          secured.api.get('/tasks').set('Authorization', 'Bearer token-one-and-more'),
          secured.api.get('/tasks').set('Authorization', 'Basic dG9rZW4tb25lOg=='),
          secured.api.get('/tasks').set('Authorization', 'token-one'),
          secured.api.get('/no/such/route'),
        ];
        for (const res of await Promise.all(attempts)) {
          expectError(res, 401, 'unauthorized');
          expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
        }
      });

      it('refuses before reading the body', async () => {
        const before = await countTasks(store);
        const res = await secured.api.post('/tasks').set('Content-Type', 'text/plain').send('x');
        expectError(res, 401, 'unauthorized');
        const valid = await secured.api.post('/tasks').send(validTask({ name: 'unauthorised' }));
        expectError(valid, 401, 'unauthorized');
        expect(await countTasks(store)).toBe(before);
      });

      it('serves any configured token', async () => {
        const one = await secured.api.get('/tasks?limit=1').set('Authorization', 'Bearer token-one');
        expect(one.status).toBe(200);
        taskListJsonSchema.parse(one.body);
        const two = await secured.api.post('/tasks').set('Authorization', 'bearer token-two').send(validTask({ name: 'authorised' }));
        expect(two.status).toBe(201);
      });

      it('leaves the probes and metrics open', async () => {
        expect((await secured.api.get('/healthz')).status).toBe(200);
        expect((await secured.api.get('/readyz')).status).toBe(200);
        expect((await secured.api.get('/metrics')).status).toBe(200);
      });
    });
  });
});
