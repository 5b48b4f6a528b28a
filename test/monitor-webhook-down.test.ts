import { type Server, createServer } from 'node:http';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../internal/app/index.js';
import { closedPort, startServer } from '../internal/handlers/outbound/test-support.js';
import { getJson, postTask, redisClient, streamKeys } from './support/sched-fixture.js';
import { type TestStore, createTestStore, uniqueName, waitFor } from './support/services.js';
import { startTestApp } from './support/test-app.js';

/**
 * Webhook receivers that are down, through the service. The notification outbox is delivered beside the worker
 * pool: runs of the monitored task keep succeeding, other tasks keep running, and each delivery attempt is retried
 * with backoff and recorded, until it is delivered (the receiver came back) or given up after five attempts.
 *
 * The pool has one worker, so a delivery that held a worker would stop every run in the process.
 */

const MAX_DELIVERY_ATTEMPTS = 5;

interface RunJson {
  id: number;
  status: string;
  started_at: string;
  output: { up?: boolean; events?: string[] } | null;
}

interface AttemptJson {
  attempt: number;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
  at: string;
}

interface NotificationJson {
  id: number;
  event: string;
  status: string;
  attempts: AttemptJson[];
  body: { task_id: number; event: string };
}

/** A receiver bound to a given port (the one a task's webhook_url already names). */
async function listenOn(port: number): Promise<{ bodies: string[]; close(): Promise<void> }> {
  const bodies: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('webhook receivers that are down', () => {
  let ts: TestStore;
  let app: App;
  let url: string;
  let redis: Redis;
  let downTarget: string;
  const toClose: { close(): Promise<void> }[] = [];
  const stream = uniqueName('vigil_monitor_webhook_down');

  beforeAll(async () => {
    ts = await createTestStore('mysql', 'monitor_webhook_down');
    redis = redisClient();
    downTarget = `http://127.0.0.1:${await closedPort()}/health`;
    ({ app, url } = await startTestApp({
      storeEnv: ts.env,
      stream,
      env: {
        APP_WORKER_POOL_SIZE: '1',
        // Delivery retries back off from 250–500 ms, doubling, so five attempts take ~4 s.
        APP_WEBHOOK_RETRY_BASE_DELAY: '500ms',
        APP_WEBHOOK_MAX_ATTEMPTS: String(MAX_DELIVERY_ATTEMPTS),
      },
    }));
  });

  afterAll(async () => {
    await app?.stop();
    for (const server of toClose) await server.close();
    if (redis !== undefined) {
      await redis.del(...streamKeys(stream));
      redis.disconnect();
    }
    await ts?.cleanup();
  });

  async function runs(taskId: number): Promise<RunJson[]> {
    const { body } = await getJson<{ items: RunJson[] }>(`${url}/tasks/${taskId}/runs?limit=500`);
    return body.items.filter((r) => r.status !== 'running').reverse();
  }

  async function notifications(taskId: number): Promise<NotificationJson[]> {
    const { body } = await getJson<{ items: NotificationJson[] }>(`${url}/tasks/${taskId}/notifications`);
    return body.items;
  }

  async function pause(taskId: number): Promise<void> {
    const res = await fetch(`${url}/tasks/${taskId}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'paused' }),
    });
    expect(res.status).toBe(200);
  }

  const monitor = (name: string, webhookUrl: string) =>
    postTask(url, {
      name,
      type: 'http',
      payload: { url: downTarget },
      schedule: { every: 1 },
      notify: { webhook_url: webhookUrl, on: ['down'] },
    });

  it('keeps runs succeeding while a dead receiver is retried, records every attempt, and gives up after five', async () => {
    const receiverUrl = `http://127.0.0.1:${await closedPort()}/hook`;
    const bystander = await postTask(url, { name: 'bystander', type: 'count', schedule: { every: 1 } });
    const task = await monitor('down target, dead receiver', receiverUrl);

    const retrying = await waitFor(async () => {
      const [n] = await notifications(task.id);
      return n !== undefined && n.attempts.length >= 2 ? n : undefined;
    }, { timeoutMs: 10_000, message: 'two failed delivery attempts' });
    expect(retrying.status).toBe('pending');

    const failed = await waitFor(async () => {
      const [n] = await notifications(task.id);
      return n?.status === 'failed' ? n : undefined;
    }, { timeoutMs: 15_000, message: 'the notification given up' });

    expect(failed.event).toBe('down');
    expect(failed.attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5]);
    for (const attempt of failed.attempts) {
      expect(attempt.status_code).toBeNull();
      expect(attempt.error).toMatch(/ECONNREFUSED/);
    }
    // Backoff between attempts: at least half of 500 ms × 2^(n-1), capped at 1.5 s.
    const times = failed.attempts.map((a) => Date.parse(a.at));
    for (let i = 1; i < times.length; i += 1) {
      const backoff = Math.min(1500, 500 * 2 ** (i - 1));
      expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThanOrEqual(backoff / 2 - 20);
    }

    // The monitored task kept running and succeeding through all of it, reporting `down` once only.
    const after = await waitFor(async () => {
      const list = await runs(task.id);
      const last = list.at(-1);
      return last !== undefined && Date.parse(last.started_at) > (times.at(-1) ?? 0) ? list : undefined;
    }, { timeoutMs: 10_000, message: 'a run after the last delivery attempt' });
    expect(after.length).toBeGreaterThanOrEqual(4);
    expect(after.every((r) => r.status === 'succeeded' && r.output?.up === false)).toBe(true);
    expect(after.filter((r) => (r.output?.events ?? []).includes('down'))).toHaveLength(1);
    expect(await notifications(task.id)).toHaveLength(1);

    // The other task's runs went on while the deliveries were failing, with a single worker.
    const bystanderRuns = await runs(bystander.id);
    const during = bystanderRuns.filter((r) => {
      const at = Date.parse(r.started_at);
      return at >= (times[0] ?? 0) && at <= (times.at(-1) ?? 0);
    });
    expect(during.length).toBeGreaterThanOrEqual(2);
    expect(bystanderRuns.every((r) => r.status === 'succeeded')).toBe(true);

    // Given up means given up: later runs and ticks make no sixth attempt.
    const runsSoFar = after.length;
    await waitFor(async () => (await runs(task.id)).length >= runsSoFar + 2, { message: 'two more runs' });
    const [still] = await notifications(task.id);
    expect(still?.status).toBe('failed');
    expect(still?.attempts).toHaveLength(MAX_DELIVERY_ATTEMPTS);

    await pause(task.id);
    await pause(bystander.id);
  });

  it('delivers on the next attempt once the receiver comes back before the attempts run out', async () => {
    const port = await closedPort();
    const task = await monitor('down target, receiver comes back', `http://127.0.0.1:${port}/hook`);

    const retrying = await waitFor(async () => {
      const [n] = await notifications(task.id);
      return n !== undefined && n.attempts.length >= 2 ? n : undefined;
    }, { timeoutMs: 10_000, message: 'two failed delivery attempts' });
    expect(retrying.status).toBe('pending');
    expect(retrying.attempts.every((a) => a.error !== null && a.status_code === null)).toBe(true);

    // Back up on the very port the webhook_url names; the next attempt is at least 250 ms away.
    const receiver = await listenOn(port);
    toClose.push(receiver);

    const delivered = await waitFor(async () => {
      const [n] = await notifications(task.id);
      return n?.status === 'delivered' ? n : undefined;
    }, { timeoutMs: 10_000, message: 'the notification delivered' });
    const attempts = delivered.attempts;
    expect(attempts.length).toBeGreaterThanOrEqual(3);
    expect(attempts.length).toBeLessThanOrEqual(MAX_DELIVERY_ATTEMPTS);
    expect(attempts.map((a) => a.attempt)).toEqual(attempts.map((_, i) => i + 1));
    expect(attempts.slice(0, -1).every((a) => a.error !== null && a.status_code === null)).toBe(true);
    expect(attempts.at(-1)).toMatchObject({ status_code: 200, error: null });

    expect(receiver.bodies).toHaveLength(1);
    const body = JSON.parse(receiver.bodies[0] ?? '{}') as NotificationJson['body'];
    expect(body).toMatchObject({ task_id: task.id, event: 'down' });
    expect((await runs(task.id)).every((r) => r.status === 'succeeded')).toBe(true);

    await pause(task.id);
  });

  it('runs other tasks while a delivery hangs on a receiver that never answers', async () => {
    const hanging = await startServer(() => {
      // Never answers: the delivery waits for its own timeout (10 s).
    });
    toClose.push(hanging);
    const bystander = await postTask(url, { name: 'bystander while hanging', type: 'count', schedule: { every: 1 } });
    const task = await monitor('down target, hanging receiver', `${hanging.origin}/hook`);

    await waitFor(() => hanging.requests.length > 0, { message: 'the delivery to reach the hanging receiver' });
    const hungAt = Date.now();
    // With one worker, these runs could not happen if the delivery held it.
    await waitFor(async () => (await runs(bystander.id)).filter((r) => Date.parse(r.started_at) > hungAt).length >= 2, {
      timeoutMs: 8_000,
      message: 'two bystander runs while the delivery hangs',
    });
    await waitFor(async () => (await runs(task.id)).filter((r) => Date.parse(r.started_at) > hungAt).length >= 1, {
      timeoutMs: 8_000,
      message: 'a monitor run while the delivery hangs',
    });
    const [inFlight] = await notifications(task.id);
    expect(inFlight?.status).toBe('pending');
    expect(inFlight?.attempts).toEqual([]);

    // Cutting the connection ends the attempt as a recorded failure.
    await hanging.close();
    const recorded = await waitFor(async () => {
      const [n] = await notifications(task.id);
      return n !== undefined && n.attempts.length >= 1 ? n : undefined;
    }, { message: 'the cut-off attempt recorded' });
    expect(recorded.attempts[0]?.error).not.toBeNull();

    await pause(task.id);
    await pause(bystander.id);
  });
});
