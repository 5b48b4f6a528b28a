import { tmpdir } from 'node:os';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExampleRegistry, diskSpaceType } from '../examples/custom-type.js';
import type { App } from '../internal/app/index.js';
import { type LocalServer, reply, startServer } from '../internal/handlers/outbound/test-support.js';
import { getJson, postTask, redisClient, streamKeys } from './support/sched-fixture.js';
import { type TestStore, createTestStore, uniqueName, waitFor } from './support/services.js';
import { startTestApp } from './support/test-app.js';

/**
 * The README's custom-type example, embedded in a real service: its payload schema guards `POST /tasks`, its runs
 * carry their memory from one run to the next through the store, and its `up` and `events` reach the task's state
 * and its webhook like the built-in `http` type's.
 */

interface ErrorBody {
  error: { code: string; fields: Record<string, string> };
}

interface RunJson {
  id: number;
  attempt: number;
  status: string;
  error: string | null;
  output: { up: boolean; reason?: string; free_bytes: number; total_bytes: number; checks: number; events: string[] } | null;
}

describe('examples/custom-type.ts: a disk_space type registered by embedding code', () => {
  let ts: TestStore;
  let app: App;
  let url: string;
  let redis: Redis;
  let receiver: LocalServer;
  const stream = uniqueName('vigil_custom_type');

  beforeAll(async () => {
    ts = await createTestStore('mysql', 'custom_type');
    redis = redisClient();
    receiver = await startServer((_req, res) => reply(res, 200, 'ok'));
    ({ app, url } = await startTestApp({ storeEnv: ts.env, stream, registry: createExampleRegistry() }));
  });

  afterAll(async () => {
    await app?.stop();
    await receiver?.close();
    if (redis !== undefined) {
      await redis.del(...streamKeys(stream));
      redis.disconnect();
    }
    await ts?.cleanup();
  });

  function post(body: Record<string, unknown>): Promise<Response> {
    return fetch(`${url}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  async function finishedRuns(taskId: number): Promise<RunJson[]> {
    const { body } = await getJson<{ items: RunJson[] }>(`${url}/tasks/${taskId}/runs?limit=500`);
    return body.items.filter((r) => r.status !== 'running').reverse();
  }

  async function nthRun(taskId: number, n: number): Promise<RunJson> {
    const runs = await waitFor(async () => {
      const all = await finishedRuns(taskId);
      return all.length >= n ? all : undefined;
    }, { timeoutMs: 15_000, message: `run ${n} of task ${taskId}` });
    expect(runs).toHaveLength(n);
    return runs[n - 1] as RunJson;
  }

  async function runNow(taskId: number, n: number): Promise<RunJson> {
    const res = await fetch(`${url}/tasks/${taskId}/run`, { method: 'POST' });
    expect(res.status).toBe(202);
    return nthRun(taskId, n);
  }

  it('registers alongside the built-in types', () => {
    expect(app.registry.names()).toEqual(expect.arrayContaining(['disk_space', 'http', 'noop']));
    expect(app.registry.get('disk_space')).toBe(diskSpaceType);
  });

  it.each([
    { payload: { path: tmpdir(), min_free_bytes: 'lots' }, field: 'payload.min_free_bytes', message: /whole number/ },
    { payload: { path: 'relative/dir', min_free_bytes: 0 }, field: 'payload.path', message: /absolute path/ },
    { payload: { min_free_bytes: 0 }, field: 'payload.path', message: /string/ },
    { payload: { path: tmpdir(), min_free_bytes: 0, mount: '/' }, field: 'payload.mount', message: /not a known field/ },
  ])('refuses a bad payload with 400 naming $field', async ({ payload, field, message }) => {
    const res = await post({ name: 'bad disk check', type: 'disk_space', payload, schedule: { every: 60 } });
    const json = (await res.json()) as ErrorBody;
    expect(res.status).toBe(400);
    expect(json.error.code).toBe('validation_failed');
    expect(Object.keys(json.error.fields)).toEqual([field]);
    expect(json.error.fields[field]).toMatch(message);
  });

  it('runs, carries its memory from run to run, and reports up/down through the task and its webhook', async () => {
    const created = await postTask(url, {
      name: 'tmp disk',
      type: 'disk_space',
      payload: { path: tmpdir(), min_free_bytes: 0 },
      schedule: { every: 3600 },
      notify: { webhook_url: `${receiver.origin}/hook`, on: ['down', 'up'] },
    });
    const id = created.id;

    const first = await nthRun(id, 1);
    expect(first.status).toBe('succeeded');
    expect(first.output).toMatchObject({ up: true, checks: 1, events: [] });
    expect(first.output?.free_bytes).toBeGreaterThan(0);
    expect(first.output?.total_bytes).toBeGreaterThanOrEqual(first.output?.free_bytes ?? Infinity);

    // The counter comes from the memory stored with the previous run.
    expect((await runNow(id, 2)).output?.checks).toBe(2);
    expect((await runNow(id, 3)).output?.checks).toBe(3);
    expect((await getJson<{ up: boolean | null }>(`${url}/tasks/${id}`)).body.up).toBe(true);

    // A threshold no disk meets: down, reported once, while the counter goes on.
    const patched = await fetch(`${url}/tasks/${id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payload: { path: tmpdir(), min_free_bytes: Number.MAX_SAFE_INTEGER } }),
    });
    expect(patched.status).toBe(200);
    const down = await runNow(id, 4);
    expect(down.status).toBe('succeeded');
    expect(down.output).toMatchObject({ up: false, checks: 4, events: ['down'] });
    expect(down.output?.reason).toMatch(/bytes free, below/);
    expect((await runNow(id, 5)).output).toMatchObject({ up: false, checks: 5, events: [] });
    expect((await getJson<{ up: boolean | null }>(`${url}/tasks/${id}`)).body.up).toBe(false);

    const memory = await ts.store.db.selectFrom('task_memory').select('value').where('task_id', '=', id).executeTakeFirstOrThrow();
    expect(JSON.parse(memory.value)).toEqual({ checks: 5, up: false });

    const notifications = await waitFor(async () => {
      const { body } = await getJson<{ items: { event: string; run_id: number; status: string }[] }>(`${url}/tasks/${id}/notifications`);
      return body.items.length === 1 && body.items[0]?.status === 'delivered' ? body.items : undefined;
    }, { message: 'the down notification delivered' });
    expect(notifications[0]).toMatchObject({ event: 'down', run_id: down.id });
    expect(receiver.requests).toHaveLength(1);
    expect(JSON.parse(receiver.requests[0]?.body.toString('utf8') ?? '{}')).toMatchObject({ task_id: id, event: 'down', output: { up: false } });
  });

  it('fails the attempt, retries it and dead-letters the slot when the path does not exist', async () => {
    const created = await postTask(url, {
      name: 'missing disk',
      type: 'disk_space',
      payload: { path: '/no/such/mount/point', min_free_bytes: 0 },
      schedule: { every: 3600 },
      max_attempts: 2,
    });
    const runs = await waitFor(async () => {
      const all = await finishedRuns(created.id);
      return all.length >= 2 ? all : undefined;
    }, { message: 'two failed attempts' });
    expect(runs.map((r) => [r.attempt, r.status])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
    ]);
    expect(runs[0]?.error).toMatch(/ENOENT/);
    const dead = await waitFor(async () => {
      const { body } = await getJson<{ items: { task_id: number | null; reason: string }[] }>(`${url}/queue/dead`);
      return body.items.find((d) => d.task_id === created.id);
    }, { message: 'a dead letter for the task' });
    expect(dead.reason).toBe('attempts_exhausted');
    // Nothing was remembered: only a successful run keeps memory.
    const memory = await ts.store.db.selectFrom('task_memory').select('value').where('task_id', '=', created.id).executeTakeFirst();
    expect(memory).toBeUndefined();
  });
});
