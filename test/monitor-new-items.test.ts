import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../internal/app/index.js';
import { type LocalServer, reply, startServer } from '../internal/handlers/outbound/test-support.js';
import { getJson, postTask, redisClient, streamKeys } from './support/sched-fixture.js';
import { type TestStore, createTestStore, uniqueName, waitFor } from './support/services.js';
import { startTestApp } from './support/test-app.js';

/**
 * New-item detection end to end: a JSON feed watched by an `http` task with `items`. The first run is the
 * baseline, items added later are reported (and notified) exactly once, and what the task has seen survives a
 * restart of the service on the same database, so nothing old is reported as new afterwards.
 */

interface Item {
  id: string;
  title: string;
}

interface RunJson {
  id: number;
  status: string;
  worker: string;
  output: {
    up: boolean;
    changed: boolean;
    content_hash: string;
    new_items?: { count: number; first: Item[] };
    events: string[];
  } | null;
}

interface NotificationJson {
  event: string;
  run_id: number | null;
  status: string;
  body: { event: string; output: { new_items?: { count: number; first: Item[] } } };
  attempts: { attempt: number; status_code: number | null }[];
}

describe('http monitor: new items in a JSON feed, across a restart', () => {
  let ts: TestStore;
  let app: App;
  let url: string;
  let redis: Redis;
  let feed: LocalServer;
  let receiver: LocalServer;
  const stream = uniqueName('vigil_monitor_new_items');
  const items: Item[] = [
    { id: 'a', title: 'first lamp' },
    { id: 'b', title: 'second lamp' },
  ];

  const start = (): Promise<{ app: App; url: string }> => startTestApp({ storeEnv: ts.env, stream });

  beforeAll(async () => {
    ts = await createTestStore('mysql', 'monitor_new_items');
    redis = redisClient();
    feed = await startServer((_req, res) => reply(res, 200, { data: { items } }));
    receiver = await startServer((_req, res) => reply(res, 200, 'ok'));
    ({ app, url } = await start());
  });

  afterAll(async () => {
    await app?.stop();
    await feed?.close();
    await receiver?.close();
    if (redis !== undefined) {
      await redis.del(...streamKeys(stream));
      redis.disconnect();
    }
    await ts?.cleanup();
  });

  async function succeededRuns(taskId: number): Promise<RunJson[]> {
    const { body } = await getJson<{ items: RunJson[] }>(`${url}/tasks/${taskId}/runs?limit=500`);
    return body.items.filter((r) => r.status === 'succeeded').reverse();
  }

  /** Waits for the task's `n`th successful run (1-based) and returns it. */
  async function nthRun(taskId: number, n: number): Promise<RunJson> {
    const runs = await waitFor(async () => {
      const all = await succeededRuns(taskId);
      return all.length >= n ? all : undefined;
    }, { timeoutMs: 15_000, message: `run ${n} of task ${taskId}` });
    // No run happens unless the test asks for one (the schedule is hourly).
    expect(runs).toHaveLength(n);
    return runs[n - 1] as RunJson;
  }

  /** `POST /tasks/:id/run`, then the run it causes. */
  async function runNow(taskId: number, n: number): Promise<RunJson> {
    const res = await fetch(`${url}/tasks/${taskId}/run`, { method: 'POST' });
    expect(res.status).toBe(202);
    return nthRun(taskId, n);
  }

  async function notifications(taskId: number): Promise<NotificationJson[]> {
    const { body } = await getJson<{ items: NotificationJson[] }>(`${url}/tasks/${taskId}/notifications`);
    return body.items.reverse();
  }

  it('sets a baseline, reports exactly the added items once, and reports nothing old as new after a restart', async () => {
    const created = await postTask(url, {
      name: 'lamp listings',
      type: 'http',
      payload: { url: `${feed.origin}/search.json`, items: { path: '/data/items', id: 'id' } },
      schedule: { every: 3600 },
      notify: { webhook_url: `${receiver.origin}/hook`, on: ['new_items'] },
    });
    const id = created.id;

    // 1. Baseline: everything in the feed is remembered, nothing is reported.
    const baseline = await nthRun(id, 1);
    expect(baseline.output).toMatchObject({ up: true, changed: false, new_items: { count: 0, first: [] }, events: [] });

    // 2. Two items appear (newest first, as listings do): exactly those two are new, in feed order.
    const added: Item[] = [
      { id: 'd', title: 'fourth lamp' },
      { id: 'c', title: 'third lamp' },
    ];
    items.unshift(...added);
    const second = await runNow(id, 2);
    expect(second.output?.new_items).toEqual({ count: 2, first: added });
    expect(second.output?.changed).toBe(true);
    expect(second.output?.content_hash).not.toBe(baseline.output?.content_hash);
    expect(second.output?.events).toEqual(['changed', 'new_items']);

    // 3. Same body: nothing changed, nothing new.
    const third = await runNow(id, 3);
    expect(third.output).toMatchObject({ changed: false, new_items: { count: 0, first: [] }, events: [] });
    expect(third.output?.content_hash).toBe(second.output?.content_hash);

    // One notification (notify.on has only new_items, so `changed` is not sent) carrying the two items.
    const beforeRestart = await waitFor(async () => {
      const list = await notifications(id);
      return list.length === 1 && list[0]?.status === 'delivered' ? list : undefined;
    }, { message: 'the new_items notification delivered' });
    expect(beforeRestart[0]?.event).toBe('new_items');
    expect(beforeRestart[0]?.run_id).toBe(second.id);
    expect(beforeRestart[0]?.body.output.new_items).toEqual({ count: 2, first: added });
    expect(receiver.requests).toHaveLength(1);
    const firstBody = JSON.parse(receiver.requests[0]?.body.toString('utf8') ?? '{}') as NotificationJson['body'];
    expect(firstBody.event).toBe('new_items');
    expect(firstBody.output.new_items?.first.map((i) => i.id)).toEqual(['d', 'c']);

    // 4. Restart: a new process on the same database. Its first run reports nothing old as new.
    await app.stop();
    ({ app, url } = await start());
    const afterRestart = await runNow(id, 4);
    expect(afterRestart.worker).not.toBe(third.worker);
    expect(afterRestart.output).toMatchObject({ up: true, changed: false, new_items: { count: 0, first: [] }, events: [] });

    // 5. One more item: exactly that one.
    const latest: Item = { id: 'e', title: 'fifth lamp' };
    items.unshift(latest);
    const fifth = await runNow(id, 5);
    expect(fifth.output?.new_items).toEqual({ count: 1, first: [latest] });
    expect(fifth.output?.changed).toBe(true);

    const all = await waitFor(async () => {
      const list = await notifications(id);
      return list.length === 2 && list.every((n) => n.status === 'delivered') ? list : undefined;
    }, { message: 'both new_items notifications delivered' });
    expect(all.map((n) => n.event)).toEqual(['new_items', 'new_items']);
    expect(all[1]?.run_id).toBe(fifth.id);
    expect(all[1]?.body.output.new_items).toEqual({ count: 1, first: [latest] });
    expect(all.map((n) => n.attempts.length)).toEqual([1, 1]);
    expect(receiver.requests).toHaveLength(2);
    const secondBody = JSON.parse(receiver.requests[1]?.body.toString('utf8') ?? '{}') as NotificationJson['body'];
    expect(secondBody.output.new_items?.first).toEqual([latest]);

    // What the task has seen is in the store, not in the process: its ids, most recent first.
    const memory = await ts.store.db.selectFrom('task_memory').select('value').where('task_id', '=', id).executeTakeFirstOrThrow();
    expect(JSON.parse(memory.value) as { seen_ids: string[] }).toMatchObject({ up: true, seen_ids: ['e', 'd', 'c', 'a', 'b'] });
  });

  it('reports an item that appeared while the service was down, and only that one, after it starts again', async () => {
    const created = await postTask(url, {
      name: 'listings watched across downtime',
      type: 'http',
      payload: { url: `${feed.origin}/search.json`, items: { path: '/data/items', id: 'id' } },
      schedule: { every: 3600 },
    });
    const baseline = await nthRun(created.id, 1);
    expect(baseline.output?.new_items).toEqual({ count: 0, first: [] });

    // A process that forgot the task's memory would take its next run as a new baseline and report nothing.
    await app.stop();
    const whileDown: Item = { id: 'f', title: 'listed during downtime' };
    items.unshift(whileDown);
    ({ app, url } = await start());

    const next = await runNow(created.id, 2);
    expect(next.output?.new_items).toEqual({ count: 1, first: [whileDown] });
    expect(next.output?.changed).toBe(true);
    expect(next.output?.events).toEqual(['changed', 'new_items']);
  });
});
