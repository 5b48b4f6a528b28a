import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../internal/app/index.js';
import { type LocalServer, reply, startServer } from '../internal/handlers/outbound/test-support.js';
import { getJson, postTask, redisClient, streamKeys } from './support/sched-fixture.js';
import { type TestStore, createTestStore, uniqueName, waitFor } from './support/services.js';
import { startTestApp } from './support/test-app.js';

/**
 * The `http` check's limits, through the service: a slow target is cut by the request timeout and reported down
 * (the run succeeds); a long body is cut at `max_body_bytes` and flagged; a redirect loop and a denied address
 * (directly or through a redirect) fail the attempt, are retried and end as dead letters, and the denied address
 * never receives a connection.
 */

const DENIED_HOST = '127.0.0.2';

interface RunJson {
  id: number;
  attempt: number;
  status: string;
  duration_ms: number | null;
  output: {
    up: boolean;
    reason?: string;
    status_code: number | null;
    latency_ms: number;
    bytes: number;
    truncated: boolean;
    content_hash: string | null;
  } | null;
  error: string | null;
}

interface DeadLetterJson {
  id: number;
  task_id: number | null;
  reason: string;
  error: string | null;
}

describe('http monitor limits, through the service', () => {
  let ts: TestStore;
  let app: App;
  let url: string;
  let redis: Redis;
  let target: LocalServer;
  let forbidden: LocalServer;
  const slowTimers = new Set<NodeJS.Timeout>();
  const stream = uniqueName('vigil_monitor_limits');
  const bigBody = Buffer.alloc(64 * 1024, 'x');
  bigBody.write('{"start":"of a long body"}', 0);

  beforeAll(async () => {
    ts = await createTestStore('mysql', 'monitor_limits');
    redis = redisClient();
    target = await startServer((req, res) => {
      const path = req.url ?? '/';
      if (path === '/slow') {
        const timer = setTimeout(() => {
          slowTimers.delete(timer);
          reply(res, 200, 'finally');
        }, 3000);
        slowTimers.add(timer);
      } else if (path === '/big') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(bigBody);
      } else if (path === '/loop-a') {
        reply(res, 302, '', { location: '/loop-b' });
      } else if (path === '/loop-b') {
        reply(res, 302, '', { location: '/loop-a' });
      } else if (path === '/to-denied') {
        reply(res, 302, '', { location: `${forbidden.origin}/secret` });
      } else {
        reply(res, 404, 'no such page');
      }
    });
    forbidden = await startServer((_req, res) => reply(res, 200, 'metadata you must not read'), DENIED_HOST);
    ({ app, url } = await startTestApp({ storeEnv: ts.env, stream, env: { APP_HTTP_DENY_CIDRS: `${DENIED_HOST}/32` } }));
  });

  afterAll(async () => {
    await app?.stop();
    for (const timer of slowTimers) clearTimeout(timer);
    await target?.close();
    await forbidden?.close();
    if (redis !== undefined) {
      await redis.del(...streamKeys(stream));
      redis.disconnect();
    }
    await ts?.cleanup();
  });

  async function finishedRuns(taskId: number): Promise<RunJson[]> {
    const { body } = await getJson<{ items: RunJson[] }>(`${url}/tasks/${taskId}/runs?limit=500`);
    return body.items.filter((r) => r.status !== 'running').reverse();
  }

  async function firstRun(taskId: number): Promise<RunJson> {
    const runs = await waitFor(async () => {
      const all = await finishedRuns(taskId);
      return all.length > 0 ? all : undefined;
    }, { timeoutMs: 15_000, message: `a finished run of task ${taskId}` });
    return runs[0] as RunJson;
  }

  async function deadLetterOf(taskId: number): Promise<DeadLetterJson> {
    return waitFor(async () => {
      const { body } = await getJson<{ items: DeadLetterJson[] }>(`${url}/queue/dead?limit=500`);
      return body.items.find((d) => d.task_id === taskId);
    }, { timeoutMs: 15_000, message: `a dead letter for task ${taskId}` });
  }

  async function deadLettersOf(taskId: number): Promise<DeadLetterJson[]> {
    const { body } = await getJson<{ items: DeadLetterJson[] }>(`${url}/queue/dead?limit=500`);
    return body.items.filter((d) => d.task_id === taskId);
  }

  const check = (name: string, payload: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    postTask(url, { name, type: 'http', payload, schedule: { every: 3600 }, ...extra });

  it('cuts a slow target at the request timeout, a little under timeout_ms, and records it as down', async () => {
    const task = await check('slow target', { url: `${target.origin}/slow` }, { timeout_ms: 1000, max_attempts: 1 });
    const run = await firstRun(task.id);

    expect(run.status).toBe('succeeded');
    expect(run.error).toBeNull();
    expect(run.output?.up).toBe(false);
    // max(timeout_ms - 500, timeout_ms × 0.9) = 900 ms: the check ends before the task's own timeout would.
    expect(run.output?.reason).toBe('request timed out after 900 ms');
    expect(run.output?.status_code).toBeNull();
    expect(run.output?.latency_ms).toBeGreaterThanOrEqual(850);
    expect(run.output?.latency_ms).toBeLessThan(1500);
    expect(run.duration_ms).toBeLessThan(1500);
    expect((await getJson<{ up: boolean | null }>(`${url}/tasks/${task.id}`)).body.up).toBe(false);
    expect(await deadLettersOf(task.id)).toEqual([]);
  });

  it('cuts a body longer than max_body_bytes and flags it truncated', async () => {
    const task = await check('long body', { url: `${target.origin}/big`, max_body_bytes: 1024 });
    const run = await firstRun(task.id);

    expect(run.status).toBe('succeeded');
    expect(run.output).toMatchObject({ up: true, status_code: 200, truncated: true, bytes: 1024 });
    // The hash covers what was read, not the whole body.
    expect(run.output?.content_hash).toBe(createHash('sha256').update(bigBody.subarray(0, 1024)).digest('hex'));
  });

  it('fails a redirect loop with a clear error, retries it, and dead-letters the slot', async () => {
    const task = await check('redirect loop', { url: `${target.origin}/loop-a` }, { max_attempts: 2 });
    const letter = await deadLetterOf(task.id);
    const runs = await finishedRuns(task.id);

    expect(runs.map((r) => [r.attempt, r.status])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
    ]);
    for (const run of runs) {
      expect(run.output).toBeNull();
      expect(run.error).toContain('redirect loop');
      expect(run.error).toContain(`${target.origin}/loop-a → ${target.origin}/loop-b → ${target.origin}/loop-a`);
    }
    expect(letter.reason).toBe('attempts_exhausted');
    expect(letter.error).toContain('redirect loop');
    const after = (await getJson<{ last_status: string; up: boolean | null }>(`${url}/tasks/${task.id}`)).body;
    expect(after.last_status).toBe('failed');
    // A check that could not be made says nothing about the target.
    expect(after.up).toBeNull();
  });

  it('refuses a denied address, directly or behind a redirect, without ever connecting to it', async () => {
    const direct = await check('denied directly', { url: `${forbidden.origin}/secret` }, { max_attempts: 2 });
    const redirected = await check('denied via redirect', { url: `${target.origin}/to-denied` }, { max_attempts: 2 });
    const letters = [await deadLetterOf(direct.id), await deadLetterOf(redirected.id)];

    for (const task of [direct, redirected]) {
      const runs = await finishedRuns(task.id);
      expect(runs.map((r) => [r.attempt, r.status])).toEqual([
        [1, 'failed'],
        [2, 'failed'],
      ]);
      for (const run of runs) {
        expect(run.error).toContain(`address ${DENIED_HOST}`);
        expect(run.error).toContain('denied by APP_HTTP_DENY_CIDRS');
      }
    }
    for (const letter of letters) {
      expect(letter.reason).toBe('attempts_exhausted');
      expect(letter.error).toContain(`${DENIED_HOST} is denied`);
    }
    // The allowed hop was fetched once per attempt; the denied server saw nothing, not even a connection.
    expect(target.requests.filter((r) => r.url === '/to-denied')).toHaveLength(2);
    expect(forbidden.requests).toHaveLength(0);
    expect(forbidden.connections()).toBe(0);
  });
});
