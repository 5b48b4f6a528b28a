import { describe, expect, it } from 'vitest';
import { type LocalServer, reply, startServer } from '../../handlers/outbound/test-support.js';
import { downBody, newItemsBody, useTestSender } from '../test-fixtures.js';
import { telegramConfigSchema } from './telegram.js';

/** Telegram bots: a local Bot API stand-in checks the sendMessage call against its documented shape. */
describe('telegram channel', () => {
  const { sender, track } = useTestSender();
  const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';

  async function botApi(answer: (body: Record<string, unknown>) => [number, object]): Promise<LocalServer> {
    const server = await startServer((_req, res, raw) => {
      const [status, json] = answer(JSON.parse(raw.toString()) as Record<string, unknown>);
      reply(res, status, json);
    });
    track(server);
    return server;
  }

  it('calls sendMessage on the configured API base with HTML text, escaped, and the chat id', async () => {
    const server = await botApi((body) => [200, { ok: true, result: { message_id: 7, chat: { id: body.chat_id } } }]);
    const channel = { id: 3, name: 'pager', kind: 'telegram', config: { bot_token: TOKEN, chat_id: -1001234567890, api_base: server.origin } };
    const delivery = await sender.send(channel, downBody());
    expect(delivery).toMatchObject({ ok: true, status_code: 200, error: null });
    expect(delivery.response).toContain('"message_id":7');

    const [request] = server.requests;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe(`/bot${TOKEN}/sendMessage`);
    const body = JSON.parse(request?.body.toString() ?? '{}') as Record<string, unknown>;
    expect(body).toMatchObject({ chat_id: -1001234567890, parse_mode: 'HTML', link_preview_options: { is_disabled: true } });
    const text = body.text as string;
    expect(text.split('\n')[0]).toBe('🔴 <b>Down: shop &lt;api&gt;</b>');
    expect(text).toContain('<b>Reason:</b> status 500 not in 200-399');
    expect(text).toContain('<a href="https://vigil.example.com/ui/tasks/42">Open in Vigil</a>');
    expect(text.length).toBeLessThanOrEqual(4096);
  });

  it('lists items with links, and stays under the 4,096-character limit by counting the rest', async () => {
    const server = await botApi(() => [200, { ok: true, result: {} }]);
    const body = newItemsBody(20);
    const first = (body.output.new_items as { first: Record<string, unknown>[] }).first;
    for (const item of first) item.description = 'x'.repeat(190);
    await sender.send({ id: 3, name: 'pager', kind: 'telegram', config: { bot_token: TOKEN, chat_id: '@shop_alerts', api_base: server.origin } }, body);
    const text = (JSON.parse(server.requests[0]?.body.toString() ?? '{}') as { text: string }).text;
    expect(text).toContain('• <a href="https://shop.example/items/1">Lamp &lt;b&gt;&amp;&lt;/b&gt; &quot;shade&quot;</a>');
    expect(text.length).toBeLessThanOrEqual(4096);
    expect(text).toMatch(/<i>and \d+ more<\/i>/);
  });

  it('reports the Bot API’s description of a refusal, never the token', async () => {
    const server = await botApi(() => [400, { ok: false, error_code: 400, description: 'Bad Request: chat not found' }]);
    const delivery = await sender.send({ id: 3, name: 'pager', kind: 'telegram', config: { bot_token: TOKEN, chat_id: 1, api_base: server.origin } }, downBody());
    expect(delivery).toMatchObject({ ok: false, status_code: 400, error: 'receiver answered 400: Bad Request: chat not found' });
    expect(JSON.stringify(delivery)).not.toContain(TOKEN);
  });

  it('defaults to the public Bot API and checks the token’s shape', () => {
    const parsed = telegramConfigSchema.parse({ bot_token: TOKEN, chat_id: 5 });
    expect(parsed.api_base).toBe('https://api.telegram.org');
    const bad = telegramConfigSchema.safeParse({ bot_token: 'nope', chat_id: 'not a chat' });
    expect(bad.error?.issues.map((i) => i.path.join('.'))).toEqual(['bot_token', 'chat_id']);
  });
});
