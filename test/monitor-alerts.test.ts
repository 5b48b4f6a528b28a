import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../internal/app/index.js';
import { type LocalServer, reply, startServer } from '../internal/handlers/outbound/test-support.js';
import { getJson, postTask } from './support/sched-fixture.js';
import { type TestStore, createTestStore, waitFor } from './support/services.js';
import { startTestApp } from './support/test-app.js';

/**
 * Alerts that do not cry wolf, end to end: an `http` task every second against a local target the test flips
 * between up and down, notifying an ntfy channel (a local receiver). With `down_after: 3` two failures send
 * nothing and the third sends one `down`; reminders follow every `remind_every` while it stays down; with
 * `up_after: 2` one success sends nothing and the second sends `up`. Each run's output says what the check saw and
 * what the alert state did. Silencing keeps the checks running and sends nothing until it ends.
 */

interface Alert {
  state: 'up' | 'down' | null;
  streak: number;
  notification: string;
  events?: string[];
  reminder?: number;
  down_for_ms?: number;
  silenced_until?: string;
}

interface RunJson {
  id: number;
  status: string;
  started_at: string;
  finished_at: string | null;
  output: { up?: boolean; events?: string[]; alert?: Alert } | null;
}

interface NotificationJson {
  id: number;
  run_id: number;
  event: string;
  status: string;
  url: string | null;
  channel: { id: number; name: string | null; kind: string | null } | null;
  body: { event: string; output: { alert?: Alert } };
  created_at: string;
}

describe('alerts: thresholds, reminders and silencing (polling mode)', () => {
  let ts: TestStore;
  let app: App;
  let url: string;
  let target: LocalServer;
  let ntfy: LocalServer;
  const healthy = new Map<string, boolean>();
  let channelId: number;

  beforeAll(async () => {
    ts = await createTestStore('mysql', 'monitor_alerts');
    target = await startServer((req, res) => (healthy.get(req.url ?? '') === false ? reply(res, 503, 'down') : reply(res, 200, 'fine')));
    ntfy = await startServer((_req, res) => reply(res, 200, { id: 'x', event: 'message' }));
    ({ app, url } = await startTestApp({ storeEnv: ts.env, env: { APP_PUBLIC_URL: 'https://vigil.example.com' } }));
    const res = await fetch(`${url}/channels`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'phone', kind: 'ntfy', config: { server: ntfy.origin, topic: 'alerts' } }),
    });
    channelId = ((await res.json()) as { id: number }).id;
  });

  afterAll(async () => {
    await app?.stop();
    await target?.close();
    await ntfy?.close();
    await ts?.cleanup();
  });

  async function runs(taskId: number): Promise<RunJson[]> {
    const { body } = await getJson<{ items: RunJson[] }>(`${url}/tasks/${taskId}/runs?limit=500`);
    return body.items.filter((r) => r.status !== 'running').reverse();
  }

  async function notifications(taskId: number): Promise<NotificationJson[]> {
    const { body } = await getJson<{ items: NotificationJson[] }>(`${url}/tasks/${taskId}/notifications?limit=500`);
    return [...body.items].reverse();
  }

  async function patch(taskId: number, body: unknown): Promise<void> {
    const res = await fetch(`${url}/tasks/${taskId}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(200);
  }

  /** Titles of what the ntfy receiver got for one task, in order. */
  function titles(name: string): string[] {
    return ntfy.requests
      .map((r) => JSON.parse(r.body.toString()) as { title: string })
      .map((m) => m.title)
      .filter((t) => t.endsWith(`: ${name}`));
  }

  it('confirms down after three failures, reminds while down, and confirms up after two successes', async () => {
    const path = '/flappy';
    healthy.set(path, true);
    const task = await postTask(url, {
      name: 'flappy',
      type: 'http',
      payload: { url: `${target.origin}${path}` },
      schedule: { every: 1 },
      notify: { channels: [channelId], down_after: 3, up_after: 2, remind_every: '3s' },
    });

    await waitFor(async () => (await runs(task.id)).length >= 2, { message: 'two up runs' });
    expect((await getJson<{ up: boolean }>(`${url}/tasks/${task.id}`)).body.up).toBe(true);

    healthy.set(path, false);
    const firstDown = await waitFor(async () => (await notifications(task.id)).find((n) => n.event === 'down'), {
      timeoutMs: 15_000,
      message: 'the down notification',
    });
    const afterDown = await runs(task.id);
    const downs = afterDown.filter((r) => r.output?.up === false);
    expect(downs.length).toBeGreaterThanOrEqual(3);
    // What each check saw, and what the alert did: two suppressed, the third confirmed and sent.
    expect(downs[0]?.output?.alert).toMatchObject({ state: 'up', streak: 1, notification: 'suppressed' });
    expect(downs[1]?.output?.alert).toMatchObject({ state: 'up', streak: 2, notification: 'suppressed' });
    expect(downs[2]?.output?.alert).toMatchObject({ state: 'down', streak: 3, notification: 'sent', events: ['down'] });
    expect(downs[0]?.output?.events).toEqual(['down']);
    expect(firstDown.run_id).toBe(downs[2]?.id);
    expect(firstDown.channel).toEqual({ id: channelId, name: 'phone', kind: 'ntfy' });
    expect(firstDown.url).toBeNull();
    expect((await getJson<{ up: boolean }>(`${url}/tasks/${task.id}`)).body.up).toBe(false);

    // Reminders: two more `down`s while it stays down, at least remind_every apart, numbered.
    const reminded = await waitFor(
      async () => {
        const list = (await notifications(task.id)).filter((n) => n.event === 'down');
        return list.length >= 3 ? list : undefined;
      },
      { timeoutMs: 15_000, message: 'two reminders' },
    );
    healthy.set(path, true);
    expect(reminded.slice(1, 3).map((n) => n.body.output.alert?.reminder)).toEqual([1, 2]);
    const times = reminded.slice(0, 3).map((n) => Date.parse(n.created_at));
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(3000);
    expect((times[2] ?? 0) - (times[1] ?? 0)).toBeGreaterThanOrEqual(3000);
    // Between reminders the runs went on, each saying it sent nothing.
    const quiet = (await runs(task.id)).filter((r) => r.output?.up === false && r.output.alert?.notification === 'none');
    expect(quiet.length).toBeGreaterThanOrEqual(2);

    const up = await waitFor(async () => (await notifications(task.id)).find((n) => n.event === 'up'), {
      timeoutMs: 15_000,
      message: 'the up notification',
    });
    const all = await runs(task.id);
    const lastDownIndex = all.map((r) => r.output?.up).lastIndexOf(false);
    const ups = all.slice(lastDownIndex + 1);
    expect(ups[0]?.output?.alert).toMatchObject({ state: 'down', streak: 1, notification: 'suppressed' });
    expect(ups[1]?.output?.alert).toMatchObject({ state: 'up', streak: 2, notification: 'sent', events: ['up'] });
    expect(ups[1]?.output?.alert?.down_for_ms).toBeGreaterThan(6000);
    expect(up.run_id).toBe(ups[1]?.id);
    expect((await getJson<{ up: boolean }>(`${url}/tasks/${task.id}`)).body.up).toBe(true);

    await patch(task.id, { status: 'paused' });
    // Every notification reached the channel once, in order: down, the reminders, up.
    const delivered = await waitFor(async () => {
      const list = await notifications(task.id);
      return list.every((n) => n.status === 'delivered') ? list : undefined;
    });
    const sent = titles('flappy');
    expect(sent).toHaveLength(delivered.length);
    expect(sent[0]).toBe('Down: flappy');
    expect(sent.at(-1)).toBe('Up again: flappy');
    expect(sent.slice(1, -1).every((t) => t === 'Still down: flappy')).toBe(true);
    expect(sent.length).toBeGreaterThanOrEqual(4);
    const message = JSON.parse(ntfy.requests.find((r) => r.body.toString().includes('"Down: flappy"'))?.body.toString() ?? '{}') as Record<string, unknown>;
    expect(message).toMatchObject({ topic: 'alerts', priority: 5, click: `https://vigil.example.com/ui/tasks/${task.id}` });
    expect(message.message).toContain('Reason: status 503 not in 200-399');
  });

  it('keeps checking while silenced, sends nothing, and reminds once the silence ends', async () => {
    const path = '/silenced';
    healthy.set(path, false);
    const task = await postTask(url, {
      name: 'quiet',
      type: 'http',
      payload: { url: `${target.origin}${path}` },
      schedule: { every: 1 },
      notify: { channels: [channelId], remind_every: '2s' },
      silenced_until: new Date(Date.now() + 3600_000).toISOString(),
    });
    const silenced = await waitFor(async () => {
      const list = await runs(task.id);
      return list.length >= 4 ? list : undefined;
    }, { timeoutMs: 15_000, message: 'four silenced runs' });
    expect(silenced[0]?.output?.alert).toMatchObject({ state: 'down', notification: 'silenced', events: ['down'] });
    expect(silenced[0]?.output?.alert?.silenced_until).toBeDefined();
    // The reminder is due on every run (none went out), and is silenced too.
    expect(silenced.slice(1).every((r) => r.output?.alert?.notification === 'silenced')).toBe(true);
    expect(await notifications(task.id)).toEqual([]);
    expect((await getJson<{ up: boolean }>(`${url}/tasks/${task.id}`)).body.up).toBe(false);

    await patch(task.id, { silenced_until: null });
    const reminder = await waitFor(async () => (await notifications(task.id))[0], { message: 'a reminder after the silence' });
    expect(reminder.event).toBe('down');
    expect(reminder.body.output.alert).toMatchObject({ notification: 'sent', reminder: 1 });
    await waitFor(() => titles('quiet').length > 0, { message: 'the reminder delivered' });
    expect(titles('quiet')[0]).toBe('Still down: quiet');
    await patch(task.id, { status: 'paused' });
  });
});
