import { describe, expect, it } from 'vitest';
import { reply, startServer } from '../../handlers/outbound/test-support.js';
import { SIGNATURE_HEADER, verifySignature } from '../../handlers/outbound/index.js';
import { downBody, testSender, useTestSender } from '../test-fixtures.js';

/** The webhook kind sends today's signed body, unchanged; a channel's own secret wins over APP_WEBHOOK_SECRET. */
describe('webhook channel', () => {
  const { sender, track } = useTestSender({ webhookSecret: 'global-secret' });

  it('posts {task_id, name, event, output, timestamp}, signed with APP_WEBHOOK_SECRET', async () => {
    const server = await startServer((_req, res) => reply(res, 200, 'thanks'));
    track(server);
    const body = downBody();
    const delivery = await sender.send({ id: null, name: 'webhook_url', kind: 'webhook', config: { url: `${server.origin}/hook` } }, body);
    expect(delivery).toMatchObject({ ok: true, status_code: 200, response: 'thanks', error: null });
    const [request] = server.requests;
    const json = JSON.parse(request?.body.toString() ?? '{}') as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['task_id', 'name', 'event', 'output', 'timestamp']);
    expect(json).toEqual({ task_id: 42, name: body.name, event: 'down', output: body.output, timestamp: body.timestamp });
    const signature = request?.headers[SIGNATURE_HEADER.toLowerCase()] as string;
    expect(verifySignature('global-secret', request?.body ?? '', signature)).toBe(true);
  });

  it('signs with the channel’s own secret when it has one', async () => {
    const server = await startServer((_req, res) => reply(res, 202, ''));
    track(server);
    await sender.send({ id: 5, name: 'ci', kind: 'webhook', config: { url: server.origin, secret: 'channel-secret' } }, downBody());
    const [request] = server.requests;
    const signature = request?.headers[SIGNATURE_HEADER.toLowerCase()] as string;
    expect(verifySignature('channel-secret', request?.body ?? '', signature)).toBe(true);
    expect(verifySignature('global-secret', request?.body ?? '', signature)).toBe(false);
  });

  it('refuses a denied address without connecting', async () => {
    const denying = testSender({ deny: ['127.0.0.0/8'] });
    const server = await startServer((_req, res) => reply(res, 200, ''));
    track(server);
    const delivery = await denying.sender.send({ id: 5, name: 'ci', kind: 'webhook', config: { url: `${server.origin}/x` } }, downBody());
    await denying.policy.close();
    expect(delivery.ok).toBe(false);
    expect(delivery.error).toMatch(/denied by APP_HTTP_DENY_CIDRS/);
    expect(server.connections()).toBe(0);
  });
});
