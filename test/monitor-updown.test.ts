import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../internal/app/index.js';
import { type LocalServer, reply, startServer } from '../internal/handlers/outbound/test-support.js';
import { SIGNATURE_HEADER, verifySignature } from '../internal/handlers/outbound/index.js';
import { getJson, postTask, redisClient, streamKeys } from './support/sched-fixture.js';
import { type TestStore, createTestStore, uniqueName, waitFor } from './support/services.js';
import { startTestApp } from './support/test-app.js';

/**
 * Up/down monitoring end to end in stream mode: an `http` task every second against a local target the test flips
 * between 200 and 500. A down target is a result (the runs succeed with `up: false`), the task's `up` follows the
 * target, and the webhook receives exactly one signed `down` and one signed `up`, both recorded as delivered.
 */

const SECRET = 'updown-webhook-secret';

interface RunJson {
  id: number;
  attempt: number;
  source: string;
  status: string;
  output: { up?: boolean; reason?: string; status_code?: number | null; events?: string[] } | null;
  error: string | null;
}

interface NotificationJson {
  id: number;
  task_id: number;
  run_id: number | null;
  event: string;
  url: string;
  status: string;
  body: { task_id: number; name: string; event: string; output: { up: boolean }; timestamp: string };
  attempts: { attempt: number; status_code: number | null; error: string | null; duration_ms: number; at: string }[];
}

describe('http monitor: up/down transitions and signed webhooks (stream mode)', () => {
  let ts: TestStore;
  let app: App;
  let url: string;
  let redis: Redis;
  let target: LocalServer;
  let receiver: LocalServer;
  let healthy = true;
  const stream = uniqueName('vigil_monitor_updown');

  beforeAll(async () => {
    ts = await createTestStore('mysql', 'monitor_updown');
    redis = redisClient();
    target = await startServer((_req, res) => (healthy ? reply(res, 200, 'all good') : reply(res, 500, 'broken')));
    // A receiver that does what the README tells receivers to do: check the signature over the raw body first.
    receiver = await startServer((req, res, body) => {
      const ok = verifySignature(SECRET, body, req.headers[SIGNATURE_HEADER.toLowerCase()] as string | undefined);
      reply(res, ok ? 200 : 401, ok ? 'thanks' : 'bad signature');
    });
    ({ app, url } = await startTestApp({ storeEnv: ts.env, stream, env: { APP_WEBHOOK_SECRET: SECRET } }));
  });

  afterAll(async () => {
    await app?.stop();
    await target?.close();
    await receiver?.close();
    if (redis !== undefined) {
      await redis.del(...streamKeys(stream));
      redis.disconnect();
    }
    await ts?.cleanup();
  });

  /** Finished runs, oldest first. */
  async function finishedRuns(taskId: number): Promise<RunJson[]> {
    const { body } = await getJson<{ items: RunJson[] }>(`${url}/tasks/${taskId}/runs?limit=500`);
    return body.items.filter((r) => r.status !== 'running').reverse();
  }

  async function taskUp(taskId: number): Promise<boolean | null> {
    return (await getJson<{ up: boolean | null }>(`${url}/tasks/${taskId}`)).body.up;
  }

  /** Waits until the runs end with `count` consecutive runs whose output has `up === up`. */
  async function waitForTrailing(taskId: number, up: boolean, count: number): Promise<RunJson[]> {
    return waitFor(
      async () => {
        const runs = await finishedRuns(taskId);
        const trailing = runs.slice(runs.length - count);
        return trailing.length === count && trailing.every((r) => r.output?.up === up) ? runs : undefined;
      },
      { timeoutMs: 15_000, message: `${count} runs with up=${up}` },
    );
  }

  it('records the up/down history as successful runs, keeps task.up current, and notifies once per transition', async () => {
    const health = await getJson<{ mode: string }>(`${url}/healthz`);
    expect(health.body.mode).toBe('redis_streams');

    const created = await postTask(url, {
      name: 'flapping target',
      type: 'http',
      payload: { url: `${target.origin}/health` },
      schedule: { every: 1 },
      notify: { webhook_url: `${receiver.origin}/hook`, on: ['down', 'up'] },
    });
    expect(created.queued_via).toBe('stream');
    expect(created.up).toBeNull();
    const id = created.id;

    await waitForTrailing(id, true, 2);
    expect(await taskUp(id)).toBe(true);

    healthy = false;
    await waitForTrailing(id, false, 3);
    // The target is still down, so no later run can have moved the state back.
    expect(await taskUp(id)).toBe(false);

    healthy = true;
    const runs = await waitForTrailing(id, true, 2);
    expect(await taskUp(id)).toBe(true);

    // History: up…, down…, up… — each phase as long as the test held it.
    const history = runs.map((r) => (r.output?.up === true ? 'U' : r.output?.up === false ? 'D' : '?')).join('');
    expect(history).toMatch(/^U{2,}D{3,}U{2,}$/);

    // A down target is a result: every run succeeded on its first attempt, nothing was retried or dead-lettered.
    for (const run of runs) {
      expect(run.status).toBe('succeeded');
      expect(run.attempt).toBe(1);
      expect(run.source).not.toBe('retry');
      expect(run.error).toBeNull();
    }
    for (const run of runs.filter((r) => r.output?.up === false)) {
      expect(run.output?.status_code).toBe(500);
      expect(run.output?.reason).toMatch(/status 500 not in 200-399/);
    }
    const dead = await getJson<{ items: { task_id: number | null }[] }>(`${url}/queue/dead?limit=500`);
    expect(dead.body.items.filter((d) => d.task_id === id)).toEqual([]);

    // Events only on the transitions: the first down run and the first run up again.
    const firstDown = runs.find((r) => r.output?.up === false);
    const firstUpAgain = runs.find((r, i) => i > 0 && r.output?.up === true && runs[i - 1]?.output?.up === false);
    expect(firstDown?.output?.events).toEqual(['down']);
    expect(firstUpAgain?.output?.events).toEqual(['up']);
    expect(runs.filter((r) => (r.output?.events ?? []).length > 0).map((r) => r.id)).toEqual([firstDown?.id, firstUpAgain?.id]);

    // The outbox holds exactly one notification per transition, each delivered on its first attempt.
    const notifications = await waitFor(
      async () => {
        const { body } = await getJson<{ items: NotificationJson[] }>(`${url}/tasks/${id}/notifications`);
        return body.items.length === 2 && body.items.every((n) => n.status === 'delivered') ? body.items : undefined;
      },
      { timeoutMs: 10_000, message: 'two delivered notifications' },
    );
    const oldestFirst = [...notifications].reverse();
    expect(oldestFirst.map((n) => n.event)).toEqual(['down', 'up']);
    expect(oldestFirst.map((n) => n.run_id)).toEqual([firstDown?.id, firstUpAgain?.id]);
    for (const n of oldestFirst) {
      expect(n.task_id).toBe(id);
      expect(n.url).toBe(`${receiver.origin}/hook`);
      expect(n.attempts).toHaveLength(1);
      expect(n.attempts[0]).toMatchObject({ attempt: 1, status_code: 200, error: null });
    }

    // The receiver got those two POSTs and nothing else, signed over the exact bytes it received.
    expect(receiver.requests.map((r) => r.method)).toEqual(['POST', 'POST']);
    const received = receiver.requests.map((r) => ({
      raw: r.body,
      signature: r.headers[SIGNATURE_HEADER.toLowerCase()] as string | undefined,
      json: JSON.parse(r.body.toString('utf8')) as NotificationJson['body'],
      contentType: r.headers['content-type'],
    }));
    expect(received.map((r) => r.json.event)).toEqual(['down', 'up']);
    for (const r of received) {
      expect(r.contentType).toMatch(/^application\/json/);
      expect(r.signature).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(verifySignature(SECRET, r.raw, r.signature)).toBe(true);
      // A receiver configured with another secret, or handed a tampered body, rejects it.
      expect(verifySignature('not-the-secret', r.raw, r.signature)).toBe(false);
      expect(verifySignature(SECRET, Buffer.concat([r.raw, Buffer.from(' ')]), r.signature)).toBe(false);
      expect(r.json.task_id).toBe(id);
      expect(r.json.name).toBe('flapping target');
      expect(Number.isNaN(Date.parse(r.json.timestamp))).toBe(false);
    }
    expect(received[0]?.json.output.up).toBe(false);
    expect(received[1]?.json.output.up).toBe(true);
  });
});
