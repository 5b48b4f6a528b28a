import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../internal/app/index.js';
import { type LocalServer, reply, startServer } from '../internal/handlers/outbound/test-support.js';
import { getJson, postTask } from './support/sched-fixture.js';
import { type TestStore, createTestStore, waitFor } from './support/services.js';
import { startTestApp } from './support/test-app.js';

/**
 * Email through the outbox, end to end: a feed watched for new items mails them to an email channel (a real SMTP
 * server in this process, each message parsed with mailparser), and a server that refuses the message gets the
 * outbox's retries with backoff until the notification is recorded as failed, every attempt with the server's code.
 */

interface Parsed {
  to: string[];
  mail: ParsedMail;
}

async function startSmtp(refuse: boolean): Promise<{ port: number; received: Parsed[]; attempts: () => number; close(): Promise<void> }> {
  const received: Parsed[] = [];
  let attempts = 0;
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData: (stream, session, callback) => {
      attempts += 1;
      simpleParser(stream)
        .then((mail) => {
          if (refuse) {
            callback(Object.assign(new Error('Requested action not taken: mailbox unavailable'), { responseCode: 550 }));
            return;
          }
          received.push({ to: session.envelope.rcptTo.map((r) => r.address), mail });
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.server.address() as AddressInfo).port,
    received,
    attempts: () => attempts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface NotificationJson {
  event: string;
  status: string;
  attempts: { attempt: number; status_code: number | null; error: string | null; at: string }[];
  last_error: string | null;
}

describe('email channel through the outbox', () => {
  let ts: TestStore;
  let app: App;
  let url: string;
  let feed: LocalServer;
  let items: { id: string; title: string; url: string; price: number }[] = [];
  let accepting: Awaited<ReturnType<typeof startSmtp>>;
  let refusing: Awaited<ReturnType<typeof startSmtp>>;

  beforeAll(async () => {
    ts = await createTestStore('mysql', 'notify_email');
    accepting = await startSmtp(false);
    refusing = await startSmtp(true);
    feed = await startServer((req, res) => (req.url === '/down' ? reply(res, 500, 'no') : reply(res, 200, { data: { items } })));
    ({ app, url } = await startTestApp({
      storeEnv: ts.env,
      env: { APP_PUBLIC_URL: 'https://vigil.example.com/', APP_WEBHOOK_RETRY_BASE_DELAY: '300ms', APP_WEBHOOK_MAX_ATTEMPTS: '3' },
    }));
  });

  afterAll(async () => {
    await app?.stop();
    await feed?.close();
    await accepting?.close();
    await refusing?.close();
    await ts?.cleanup();
  });

  async function channel(name: string, port: number): Promise<number> {
    const res = await fetch(`${url}/channels`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name,
        kind: 'email',
        config: { host: '127.0.0.1', port, tls: 'none', from: 'Vigil <alerts@shop.example>', to: ['buyer@example.com', 'ops@example.com'] },
      }),
    });
    expect(res.status).toBe(201);
    return ((await res.json()) as { id: number }).id;
  }

  async function notifications(taskId: number): Promise<NotificationJson[]> {
    return (await getJson<{ items: NotificationJson[] }>(`${url}/tasks/${taskId}/notifications`)).body.items;
  }

  it('mails the new items of a feed, with a readable subject, the recipients, each item and a link', async () => {
    const channelId = await channel('buyers', accepting.port);
    items = [{ id: 'a1', title: 'Desk lamp', url: 'https://shop.example/a1', price: 30 }];
    const task = await postTask(url, {
      name: 'lamp feed',
      type: 'http',
      payload: { url: `${feed.origin}/feed.json`, items: { path: '/data/items', id: 'id' } },
      schedule: { every: 1 },
      notify: { channels: [channelId], on: ['new_items'] },
    });
    // The first run is the baseline; then two new items appear.
    await waitFor(
      async () => (await getJson<{ items: { status: string }[] }>(`${url}/tasks/${task.id}/runs`)).body.items.some((r) => r.status === 'succeeded'),
      { message: 'the baseline run' },
    );
    items = [
      { id: 'b2', title: 'Floor lamp', url: 'https://shop.example/b2', price: 120 },
      { id: 'c3', title: 'Reading <lamp>', url: 'https://shop.example/c3', price: 45 },
      ...items,
    ];
    const [got] = await waitFor(() => (accepting.received.length > 0 ? accepting.received : undefined), {
      timeoutMs: 15_000,
      message: 'the email',
    });
    const mail = got?.mail as ParsedMail;
    expect(mail.subject).toBe('[Vigil] 2 new items: lamp feed');
    expect(got?.to).toEqual(['buyer@example.com', 'ops@example.com']);
    expect(mail.from?.value).toEqual([{ name: 'Vigil', address: 'alerts@shop.example' }]);
    expect(mail.text).toContain('* Floor lamp\n  https://shop.example/b2\n  id: b2\n  price: 120');
    expect(mail.text).toContain('* Reading <lamp>\n  https://shop.example/c3\n  id: c3\n  price: 45');
    expect(mail.text).not.toContain('Desk lamp');
    expect(mail.text).toContain(`Open in Vigil: https://vigil.example.com/ui/tasks/${task.id}`);
    expect(mail.html).toContain('Reading &lt;lamp&gt;');
    expect(mail.html).toContain(`href="https://vigil.example.com/ui/tasks/${task.id}"`);

    const [note] = await waitFor(async () => {
      const list = await notifications(task.id);
      return list[0]?.status === 'delivered' ? list : undefined;
    });
    expect(note?.event).toBe('new_items');
    expect(note?.attempts).toEqual([expect.objectContaining({ attempt: 1, status_code: 250, error: null })]);
    await fetch(`${url}/tasks/${task.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"status":"paused"}' });
  });

  it('retries a server that refuses the message with backoff, then records the failure with its code', async () => {
    const channelId = await channel('refused', refusing.port);
    const task = await postTask(url, {
      name: 'down for mail',
      type: 'http',
      payload: { url: `${feed.origin}/down` },
      schedule: { every: 60 },
      notify: { channels: [channelId] },
    });
    const failed = await waitFor(async () => {
      const [n] = await notifications(task.id);
      return n?.status === 'failed' ? n : undefined;
    }, { timeoutMs: 15_000, message: 'the notification given up' });
    expect(failed.event).toBe('down');
    expect(failed.attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    for (const attempt of failed.attempts) {
      expect(attempt.status_code).toBe(550);
      expect(attempt.error).toMatch(/^the SMTP server answered 550 Requested action not taken: mailbox unavailable/);
    }
    const times = failed.attempts.map((a) => Date.parse(a.at));
    expect((times[1] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(150 - 20);
    expect((times[2] ?? 0) - (times[1] ?? 0)).toBeGreaterThanOrEqual(300 - 20);
    expect(failed.last_error).toMatch(/550/);
    expect(refusing.attempts()).toBe(3);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('vigil_notification_attempts_total{kind="email",outcome="retry"} 2');
    expect(metrics).toContain('vigil_notification_attempts_total{kind="email",outcome="failed"} 1');
    expect(metrics).toContain('vigil_notification_attempts_total{kind="email",outcome="delivered"} 1');
  });
});
