import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumBrowserPids, chromiumForTests } from '../internal/handlers/browser/test-chromium.js';
import { type LocalServer, makeCertificate, reply, startServer } from '../internal/handlers/outbound/test-support.js';
import { type SchedFixture, createSchedFixture, getJson, postTask } from './support/sched-fixture.js';
import { waitFor } from './support/services.js';

/**
 * The richer checks end to end, through the API, a real scheduler (stream mode), MariaDB and webhook delivery:
 * HTML items reported with their fields and notified once; a short-lived certificate reported on every run and
 * notified once; a browser task rendered by the embedded scheduler, whose Chromium the process closes on stop.
 */

interface RunJson {
  id: number;
  status: string;
  output: Record<string, unknown> & { up: boolean; events: string[] };
}

interface NotificationJson {
  event: string;
  run_id: number | null;
  status: string;
  body: { event: string; output: { new_items?: { count: number; first: Record<string, unknown>[] }; cert_days_left?: number } };
}

const DAY = 86_400_000;

describe('http and browser checks through the scheduler (MariaDB, stream mode)', () => {
  let fx: SchedFixture;
  let url: string;
  let receiver: LocalServer;
  const servers: LocalServer[] = [];

  beforeAll(async () => {
    fx = await createSchedFixture('monitor_checks');
    receiver = await startServer((_req, res) => reply(res, 200, 'ok'));
    ({ url } = await fx.startApp('stream'));
  });

  afterAll(async () => {
    await fx?.cleanup();
    await receiver?.close();
    await Promise.all(servers.map((s) => s.close()));
  });

  async function succeededRuns(taskId: number): Promise<RunJson[]> {
    const { body } = await getJson<{ items: RunJson[] }>(`${url}/tasks/${taskId}/runs?limit=100`);
    return body.items.filter((r) => r.status === 'succeeded').reverse();
  }

  async function nthRun(taskId: number, n: number): Promise<RunJson> {
    const runs = await waitFor(async () => {
      const all = await succeededRuns(taskId);
      return all.length >= n ? all : undefined;
    }, { timeoutMs: 30_000, message: `run ${n} of task ${taskId}` });
    expect(runs).toHaveLength(n);
    return runs[n - 1] as RunJson;
  }

  async function runNow(taskId: number, n: number): Promise<RunJson> {
    const res = await fetch(`${url}/tasks/${taskId}/run`, { method: 'POST' });
    expect(res.status).toBe(202);
    return nthRun(taskId, n);
  }

  async function delivered(taskId: number, count: number): Promise<NotificationJson[]> {
    return waitFor(async () => {
      const { body } = await getJson<{ items: NotificationJson[] }>(`${url}/tasks/${taskId}/notifications`);
      return body.items.length === count && body.items.every((n) => n.status === 'delivered') ? body.items.reverse() : undefined;
    }, { timeoutMs: 20_000, message: `${count} notifications of task ${taskId} delivered` });
  }

  it('reports the two items an HTML list gains, with their fields and absolute URLs, and notifies them once', async () => {
    const item = (n: number, name: string) =>
      `<li class="item"><a href="/lamps/${n}"><span class="name">${name}</span></a><span class="price" data-value="${n}9.00">${n}9 €</span></li>`;
    let list = [item(1, 'Brass lamp'), item(2, 'Floor lamp')];
    const shop = await startServer((_req, res) => reply(res, 200, `<html><body><ul>${list.join('')}</ul></body></html>`, { 'content-type': 'text/html' }));
    servers.push(shop);
    const created = await postTask(url, {
      name: 'lamp listings (HTML)',
      type: 'http',
      payload: {
        url: `${shop.origin}/search?q=lamp`,
        items: {
          selector: 'li.item',
          id: { selector: 'a', attr: 'href' },
          fields: { title: '.name', price: { selector: '.price', attr: 'data-value' }, url: { selector: 'a', attr: 'href' } },
        },
      },
      schedule: { every: 3600 },
      notify: { webhook_url: `${receiver.origin}/hook`, on: ['new_items'] },
    });

    const baseline = await nthRun(created.id, 1);
    expect(baseline.output).toMatchObject({ up: true, new_items: { count: 0, first: [] }, events: [] });

    list = [item(4, 'Desk lamp'), item(3, 'Wall lamp'), ...list];
    const gained = await runNow(created.id, 2);
    const added = [
      { id: `${shop.origin}/lamps/4`, title: 'Desk lamp', price: '49.00', url: `${shop.origin}/lamps/4` },
      { id: `${shop.origin}/lamps/3`, title: 'Wall lamp', price: '39.00', url: `${shop.origin}/lamps/3` },
    ];
    expect(gained.output.new_items).toEqual({ count: 2, first: added });

    list = [...list].reverse();
    const reordered = await runNow(created.id, 3);
    expect(reordered.output).toMatchObject({ up: true, new_items: { count: 0, first: [] } });

    const notifications = await delivered(created.id, 1);
    expect(notifications[0]).toMatchObject({ event: 'new_items', run_id: gained.id });
    expect(notifications[0]?.body.output.new_items).toEqual({ count: 2, first: added });
  });

  it('reports cert_days_left 5 on every run of an https target and sends exactly one cert_expiring', async () => {
    const cert = await makeCertificate(new Date(Date.now() + 5 * DAY + 6 * 3_600_000));
    const target = await startServer((_req, res) => reply(res, 200, { status: 'ok' }), '127.0.0.1', cert);
    servers.push(target);
    const created = await postTask(url, {
      name: 'api certificate',
      type: 'http',
      payload: { url: `${target.origin}/health`, tls: { ca: cert.cert, min_days_left: 14 }, json: [{ path: '/status', op: 'eq', value: 'ok' }] },
      schedule: { every: 3600 },
      notify: { webhook_url: `${receiver.origin}/hook`, on: ['cert_expiring'] },
    });
    const runs = [await nthRun(created.id, 1), await runNow(created.id, 2), await runNow(created.id, 3)];
    for (const run of runs) expect(run.output).toMatchObject({ up: false, reason: 'cert_expiring', cert_days_left: 5 });
    expect(runs.map((r) => r.output.events)).toEqual([['down', 'cert_expiring'], [], []]);

    const notifications = await delivered(created.id, 1);
    expect(notifications[0]).toMatchObject({ event: 'cert_expiring', run_id: runs[0]?.id });
    expect(notifications[0]?.body.output.cert_days_left).toBe(5);
    // The fingerprint reported is in the task's memory, in the store: a restart would not send it again.
    const memory = await fx.store.db.selectFrom('task_memory').select('value').where('task_id', '=', created.id).executeTakeFirstOrThrow();
    expect(JSON.parse(memory.value)).toHaveProperty('cert_reported');
  });

  const chromium = chromiumForTests();
  if (!chromium.found) it.skip(`the browser task through the scheduler needs Chromium: ${chromium.reason}`, () => undefined);
  it.runIf(chromium.found)('runs a browser task in the embedded scheduler, and closes its Chromium when the process stops', async () => {
    const page = await startServer((_req, res) =>
      reply(res, 200, '<html><body><ul id="l"></ul><script>document.getElementById("l").innerHTML = "<li>rendered</li>"</script></body></html>', {
        'content-type': 'text/html',
      }),
    );
    servers.push(page);
    const before = chromiumBrowserPids();
    const created = await postTask(url, {
      name: 'rendered list',
      type: 'browser',
      payload: { url: page.origin, items: { selector: 'li' }, wait_for: { selector: 'li' } },
      schedule: { every: 3600 },
    });
    const run = await nthRun(created.id, 1);
    expect(run.output).toMatchObject({ up: true, status_code: 200, new_items: { count: 0, first: [] } });
    const started = chromiumBrowserPids().filter((pid) => !before.includes(pid));
    expect(started).toHaveLength(1);

    await fx.stopApps();
    await waitFor(async () => (chromiumBrowserPids().some((pid) => started.includes(pid)) ? undefined : true), {
      timeoutMs: 10_000,
      message: 'chromium closed by the stopping process',
    });
  });
});
