import { describe, expect, it } from 'vitest';
import { type LocalServer, reply, startServer } from '../../handlers/outbound/test-support.js';
import { downBody, newItemsBody, upBody, useTestSender } from '../test-fixtures.js';
import { ntfyConfigSchema } from './ntfy.js';

/** ntfy: a local server checks the JSON publish body (https://docs.ntfy.sh/publish/#publish-as-json). */
describe('ntfy channel', () => {
  const { sender, track } = useTestSender();

  async function server(status = 200, answer: object = { id: 'abc', event: 'message' }): Promise<LocalServer> {
    const s = await startServer((_req, res) => reply(res, status, answer));
    track(s);
    return s;
  }

  it('publishes JSON to the server root: topic, title, message, priority, tags and click', async () => {
    const s = await server();
    const delivery = await sender.send({ id: 4, name: 'phone', kind: 'ntfy', config: { server: s.origin, topic: 'shop-alerts', token: 'tk_secretsecret' } }, downBody());
    expect(delivery).toMatchObject({ ok: true, status_code: 200, error: null });
    const [request] = s.requests;
    expect(request?.url).toBe('/');
    expect(request?.headers.authorization).toBe('Bearer tk_secretsecret');
    const body = JSON.parse(request?.body.toString() ?? '{}') as Record<string, unknown>;
    expect(body).toMatchObject({
      topic: 'shop-alerts',
      title: 'Down: shop <api>',
      priority: 5,
      tags: ['rotating_light'],
      click: 'https://vigil.example.com/ui/tasks/42',
    });
    expect(body.message).toContain('Reason: status 500 not in 200-399');
  });

  it('uses an ordinary priority for news and lists the items', async () => {
    const s = await server();
    await sender.send({ id: 4, name: 'phone', kind: 'ntfy', config: { server: `${s.origin}/`, topic: 'shop' } }, newItemsBody(2));
    const body = JSON.parse(s.requests[0]?.body.toString() ?? '{}') as Record<string, unknown>;
    expect(body.priority).toBe(3);
    expect(s.requests[0]?.headers.authorization).toBeUndefined();
    expect(body.message).toContain('• Lamp 2 https://shop.example/items/2 (id: sku-2, price: 11, in_stock: true)');
  });

  it('lets the channel fix the priority', async () => {
    const s = await server();
    await sender.send({ id: 4, name: 'phone', kind: 'ntfy', config: { server: s.origin, topic: 'shop', priority: 2 } }, upBody());
    expect((JSON.parse(s.requests[0]?.body.toString() ?? '{}') as { priority: number }).priority).toBe(2);
  });

  it('reports ntfy’s error text, not the token', async () => {
    const s = await server(401, { code: 40101, http: 401, error: 'unauthorized' });
    const delivery = await sender.send({ id: 4, name: 'phone', kind: 'ntfy', config: { server: s.origin, topic: 'shop', token: 'tk_verysecret' } }, downBody());
    expect(delivery).toMatchObject({ ok: false, status_code: 401, error: 'receiver answered 401: unauthorized' });
    expect(JSON.stringify(delivery)).not.toContain('tk_verysecret');
  });

  it('defaults to the public server and refuses a bad topic by name', () => {
    expect(ntfyConfigSchema.parse({ topic: 'x' }).server).toBe('https://ntfy.sh');
    expect(ntfyConfigSchema.safeParse({ topic: 'has spaces' }).error?.issues[0]?.path).toEqual(['topic']);
  });
});
