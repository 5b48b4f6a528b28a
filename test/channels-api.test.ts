import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../internal/app/index.js';
import { type LocalServer, reply, startServer } from '../internal/handlers/outbound/test-support.js';
import { capturingLogger } from './support/log-capture.js';
import { type Dialect, type TestStore, createTestStore, waitFor } from './support/services.js';
import { startTestApp } from './support/test-app.js';

/**
 * `/channels` over HTTP against each store dialect: every kind created, read, changed, tested and deleted; bad input
 * named field by field; the `notify.channels`, thresholds and `silenced_until` of tasks; and no channel secret in
 * any response, error body or log line (every text the test saw is grepped for each secret).
 */

const SECRETS = {
  slackPath: 'T0SLACKAAA/B0SLACKBBB/slackSecretToken123456',
  discordToken: 'discordSecretTokenXYZ987654321',
  telegramToken: '987654321:AAHsecretTelegramTokenValue_abcdef',
  ntfyToken: 'tk_ntfysecrettoken0123456789',
  smtpPassword: 'smtp-Secret-Pass-42',
  webhookSecret: 'channel-hmac-secret-77',
};

describe.each<Dialect>(['mysql', 'sqlite'])('channels API (%s)', (dialect) => {
  let ts: TestStore;
  let app: App;
  let url: string;
  let receiver: LocalServer;
  let smtp: SMTPServer;
  let smtpPort: number;
  const smtpLogins: string[] = [];
  const { logger, lines } = capturingLogger('debug');
  /** Every response body the test read, to be grepped for secrets at the end. */
  const seen: string[] = [];

  beforeAll(async () => {
    ts = await createTestStore(dialect, `channels_api_${dialect}`);
    receiver = await startServer((req, res) =>
      req.url?.includes('refuse') ? reply(res, 403, 'invalid_token') : reply(res, 200, 'ok'),
    );
    smtp = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      logger: false,
      onAuth: (auth, _session, callback) => {
        smtpLogins.push(`${auth.username}:${auth.password === SECRETS.smtpPassword ? 'right' : 'wrong'}`);
        if (auth.password === SECRETS.smtpPassword) callback(null, { user: auth.username });
        else callback(Object.assign(new Error('Invalid credentials'), { responseCode: 535 }));
      },
      onData: (stream, _session, callback) => {
        stream.resume();
        stream.on('end', () => callback());
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
    smtpPort = (smtp.server.address() as AddressInfo).port;
    ({ app, url } = await startTestApp({
      storeEnv: ts.env,
      env: { APP_PUBLIC_URL: 'https://vigil.example.com', APP_WEBHOOK_MAX_ATTEMPTS: '2', APP_WEBHOOK_RETRY_BASE_DELAY: '200ms' },
      logger,
    }));
  });

  afterAll(async () => {
    await app?.stop();
    await receiver?.close();
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
    await ts?.cleanup();
  });

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    seen.push(text);
    return { status: res.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  }

  function expectField(res: { status: number; json: Record<string, unknown> }, status: number, field: string): void {
    expect(res.status, JSON.stringify(res.json)).toBe(status);
    const error = res.json.error as { code: string; fields?: Record<string, string> };
    expect(Object.keys(error.fields ?? {})).toContain(field);
  }

  const channels: Record<string, number> = {};
  const email = () => ({
    host: '127.0.0.1',
    port: smtpPort,
    tls: 'none',
    user: 'alerts',
    password: SECRETS.smtpPassword,
    from: 'Vigil <alerts@example.com>',
    to: ['ops@example.com'],
  });

  it('creates a channel of every kind and never answers with its secrets', async () => {
    const specs = [
      { name: 'hook', kind: 'webhook', config: { url: `${receiver.origin}/hooks/${SECRETS.slackPath}x`, secret: SECRETS.webhookSecret } },
      { name: 'mail', kind: 'email', config: email() },
      { name: 'slack', kind: 'slack', config: { webhook_url: `${receiver.origin}/services/${SECRETS.slackPath}` } },
      { name: 'discord', kind: 'discord', config: { webhook_url: `${receiver.origin}/api/webhooks/1/${SECRETS.discordToken}` } },
      { name: 'telegram', kind: 'telegram', config: { bot_token: SECRETS.telegramToken, chat_id: 42, api_base: receiver.origin } },
      { name: 'ntfy', kind: 'ntfy', config: { server: receiver.origin, topic: 'shop', token: SECRETS.ntfyToken } },
    ];
    for (const spec of specs) {
      const res = await call('POST', '/channels', spec);
      expect(res.status, JSON.stringify(res.json)).toBe(201);
      expect(res.json).toMatchObject({ name: spec.name, kind: spec.kind });
      channels[spec.kind] = res.json.id as number;
    }
    const slack = await call('GET', `/channels/${channels.slack}`);
    expect(slack.json.config).toEqual({ webhook_url: `${receiver.origin}/…/****` });
    const mail = await call('GET', `/channels/${channels.email}`);
    expect(mail.json.config).toMatchObject({ host: '127.0.0.1', user: 'alerts', password: '****', to: ['ops@example.com'] });
    const telegram = await call('GET', `/channels/${channels.telegram}`);
    expect(telegram.json.config).toMatchObject({ bot_token: '****', chat_id: 42 });
    const list = await call('GET', '/channels?limit=2');
    expect((list.json.items as unknown[]).length).toBe(2);
    const next = await call('GET', `/channels?cursor=${String(list.json.next_cursor)}&kind=ntfy`);
    expect((next.json.items as { kind: string }[]).map((c) => c.kind)).toEqual(['ntfy']);
  });

  it('refuses bad channels with a 4xx naming the field', async () => {
    expectField(await call('POST', '/channels', { name: 'x', kind: 'pager', config: {} }), 400, 'kind');
    expectField(await call('POST', '/channels', { name: 'x', kind: 'slack', config: {} }), 400, 'config.webhook_url');
    expectField(await call('POST', '/channels', { name: 'x', kind: 'slack', config: { webhook_url: 'ftp://x' } }), 400, 'config.webhook_url');
    expectField(await call('POST', '/channels', { name: 'x', kind: 'email', config: { ...email(), to: ['not an address'] } }), 400, 'config.to.0');
    expectField(await call('POST', '/channels', { name: 'x', kind: 'email', config: { ...email(), port: 70000 } }), 400, 'config.port');
    expectField(await call('POST', '/channels', { name: 'x', kind: 'email', config: { ...email(), password: '****' } }), 400, 'config.password');
    expectField(await call('POST', '/channels', { name: 'x', kind: 'telegram', config: { bot_token: 'nope', chat_id: 1 } }), 400, 'config.bot_token');
    expectField(await call('POST', '/channels', { name: 'x', kind: 'ntfy', config: { topic: 'a b' } }), 400, 'config.topic');
    expectField(await call('POST', '/channels', { name: 'x', kind: 'ntfy', config: { topic: 'a', extra: 1 } }), 400, 'config.extra');
    expectField(await call('POST', '/channels', { name: '', kind: 'ntfy', config: { topic: 'a' } }), 400, 'name');
    expectField(await call('POST', '/channels', { name: 'slack', kind: 'ntfy', config: { topic: 'a' } }), 409, 'name');
    expectField(await call('PATCH', `/channels/${channels.email}`, { kind: 'slack' }), 400, 'kind');
    expectField(await call('PATCH', `/channels/${channels.email}`, { config: { port: 0 } }), 400, 'config.port');
    expectField(await call('PATCH', `/channels/${channels.email}`, {}), 400, 'body');
    expectField(await call('GET', '/channels/abc'), 400, 'id');
    expectField(await call('GET', '/channels/999999'), 404, 'id');
    expectField(await call('POST', '/channels/999999/test'), 404, 'id');
  });

  it('changes a config field by field and keeps a secret sent back masked', async () => {
    const before = await call('GET', `/channels/${channels.email}`);
    const changed = await call('PATCH', `/channels/${channels.email}`, { name: 'ops mail', config: { ...(before.json.config as object), subject_prefix: '[shop]' } });
    expect(changed.status, JSON.stringify(changed.json)).toBe(200);
    expect(changed.json).toMatchObject({ name: 'ops mail', config: { password: '****', subject_prefix: '[shop]' } });
    // The stored password is still the real one: the server accepts the login.
    const test = await call('POST', `/channels/${channels.email}/test`);
    expect(test.json).toMatchObject({ ok: true, status_code: 250, error: null });
    expect(smtpLogins.at(-1)).toBe('alerts:right');
  });

  it('sends test messages and reports what the other side answered', async () => {
    const before = receiver.requests.length;
    const slack = await call('POST', `/channels/${channels.slack}/test`);
    expect(slack.status).toBe(200);
    expect(slack.json).toMatchObject({ ok: true, status_code: 200, response: 'ok', error: null });
    const sent = JSON.parse(receiver.requests[before]?.body.toString() ?? '{}') as { blocks: { text?: { text: string } }[] };
    expect(sent.blocks[0]?.text?.text).toBe('Test message from Vigil');

    for (const kind of ['webhook', 'discord', 'telegram', 'ntfy']) {
      const res = await call('POST', `/channels/${channels[kind]}/test`);
      expect(res.json, kind).toMatchObject({ ok: true, status_code: 200 });
    }

    const refusing = await call('POST', '/channels', {
      name: 'refusing slack',
      kind: 'slack',
      config: { webhook_url: `${receiver.origin}/refuse/${SECRETS.slackPath}` },
    });
    const failed = await call('POST', `/channels/${refusing.json.id as number}/test`);
    expect(failed.json).toMatchObject({ ok: false, status_code: 403, error: 'receiver answered 403: invalid_token' });

    const wrongPassword = await call('PATCH', `/channels/${channels.email}`, { config: { password: 'another-wrong-one' } });
    expect(wrongPassword.status).toBe(200);
    const refused = await call('POST', `/channels/${channels.email}/test`);
    expect(refused.json).toMatchObject({ ok: false, status_code: 535 });
    expect(JSON.stringify(refused.json)).not.toContain('another-wrong-one');
    await call('PATCH', `/channels/${channels.email}`, { config: { password: SECRETS.smtpPassword } });
  });

  it('checks notify on tasks: channels that exist, thresholds, reminders, events, and silenced_until', async () => {
    const task = (notify: unknown, extra: Record<string, unknown> = {}) =>
      call('POST', '/tasks', { name: 'watched', type: 'noop', schedule: { every: 60 }, notify, ...extra });
    expectField(await task({ channels: [channels.slack, 999999] }), 400, 'notify.channels.1');
    expectField(await task({ channels: [channels.slack, channels.slack] }), 400, 'notify.channels');
    expectField(await task({ channels: [channels.slack], down_after: 0 }), 400, 'notify.down_after');
    expectField(await task({ channels: [channels.slack], up_after: 101 }), 400, 'notify.up_after');
    expectField(await task({ channels: [channels.slack], remind_every: 'soon' }), 400, 'notify.remind_every');
    expectField(await task({ channels: [channels.slack], remind_every: '90d' }), 400, 'notify.remind_every');
    expectField(await task({ channels: [channels.slack], on: ['nope'] }), 400, 'notify.on.0');
    expectField(await task({ channels: [channels.slack] }, { silenced_until: 'tomorrow' }), 400, 'silenced_until');

    const created = await task(
      { channels: [channels.slack, channels.email], down_after: 3, up_after: 2, remind_every: '1h' },
      { silenced_until: '2031-01-01T00:00:00+02:00' },
    );
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    expect(created.json).toMatchObject({
      notify: { channels: [channels.slack, channels.email], on: ['down', 'up'], down_after: 3, up_after: 2, remind_every: '1h' },
      silenced_until: '2030-12-31T22:00:00.000Z',
      up: null,
    });
    const id = created.json.id as number;
    const unsilenced = await call('PATCH', `/tasks/${id}`, { silenced_until: null });
    expect(unsilenced.json.silenced_until).toBeNull();
    expectField(await call('PATCH', `/tasks/${id}`, { notify: { channels: [424242] } }), 400, 'notify.channels.0');

    // A channel a task uses cannot be deleted; the 409 names the task.
    const refused = await call('DELETE', `/channels/${channels.slack}`);
    expectField(refused, 409, 'tasks');
    expect((refused.json.error as { fields: { tasks: string } }).fields.tasks).toBe(String(id));
    expect((refused.json.error as { message: string }).message).toContain(`task ${id}`);
    expect((await call('PATCH', `/tasks/${id}`, { notify: null })).status).toBe(200);
    expect((await call('DELETE', `/channels/${channels.slack}`)).status).toBe(204);
    expect((await call('GET', `/channels/${channels.slack}`)).status).toBe(404);
    expect((await call('DELETE', `/channels/${channels.slack}`)).status).toBe(404);
  });

  it('records refused deliveries of every kind through the outbox, without their secrets', async () => {
    const refusing = [
      { name: 'r-hook', kind: 'webhook', config: { url: `${receiver.origin}/refuse/hook/${SECRETS.slackPath}`, secret: SECRETS.webhookSecret } },
      { name: 'r-discord', kind: 'discord', config: { webhook_url: `${receiver.origin}/refuse/api/webhooks/1/${SECRETS.discordToken}` } },
      { name: 'r-telegram', kind: 'telegram', config: { bot_token: SECRETS.telegramToken, chat_id: 7, api_base: `${receiver.origin}/refuse` } },
      { name: 'r-ntfy', kind: 'ntfy', config: { server: `${receiver.origin}/refuse`, topic: 'shop', token: SECRETS.ntfyToken } },
      { name: 'r-mail', kind: 'email', config: { ...email(), password: `${SECRETS.smtpPassword}-but-wrong` } },
    ];
    const ids: number[] = [];
    for (const spec of refusing) {
      const res = await call('POST', '/channels', spec);
      expect(res.status, JSON.stringify(res.json)).toBe(201);
      ids.push(res.json.id as number);
    }
    const created = await call('POST', '/tasks', {
      name: 'refused everywhere',
      type: 'http',
      payload: { url: `${receiver.origin}/refuse/target` },
      schedule: { every: 3600 },
      notify: { channels: ids },
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const taskId = created.json.id as number;
    type Note = { status: string; channel: { kind: string }; attempts: { status_code: number | null; error: string | null }[] };
    const notes = await waitFor(
      async () => {
        const items = (await call('GET', `/tasks/${taskId}/notifications`)).json.items as Note[];
        return items.length === ids.length && items.every((n) => n.status === 'failed') ? items : undefined;
      },
      { timeoutMs: 20_000, message: 'every delivery given up' },
    );
    const codes = Object.fromEntries(notes.map((n) => [n.channel.kind, n.attempts.map((a) => a.status_code)]));
    expect(codes).toEqual({ webhook: [403, 403], discord: [403, 403], telegram: [403, 403], ntfy: [403, 403], email: [535, 535] });
    for (const n of notes) for (const a of n.attempts) expect(a.error).toBeTruthy();
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    expect(lines.filter((l) => l.includes('notification delivery failed')).length).toBeGreaterThanOrEqual(ids.length * 2);
  });

  it('lists /channels in the OpenAPI document', async () => {
    const doc = await call('GET', '/openapi.json');
    const paths = doc.json.paths as Record<string, Record<string, unknown>>;
    expect(Object.keys(paths['/channels'] ?? {})).toEqual(['post', 'get']);
    expect(Object.keys(paths['/channels/{id}'] ?? {})).toEqual(['get', 'patch', 'delete']);
    expect(Object.keys(paths['/channels/{id}/test'] ?? {})).toEqual(['post']);
  });

  it('never shows a channel secret in a response, an error body or a log line', async () => {
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    expect(lines.length).toBeGreaterThan(10);
    const everything = [...seen, ...lines].join('\n');
    for (const secret of Object.values(SECRETS)) expect(everything).not.toContain(secret);
  });
});
