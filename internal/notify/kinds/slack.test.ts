import { describe, expect, it } from 'vitest';
import { type LocalServer, reply, startServer } from '../../handlers/outbound/test-support.js';
import { downBody, newItemsBody, useTestSender } from '../test-fixtures.js';
import { slackConfigSchema } from './slack.js';

/** Slack incoming webhooks: a local receiver checks each body against Block Kit's documented shape and limits. */
describe('slack channel', () => {
  const { sender, track } = useTestSender();

  async function receiver(status = 200, answer = 'ok'): Promise<LocalServer> {
    const server = await startServer((_req, res) => reply(res, status, answer));
    track(server);
    return server;
  }

  it('posts a Block Kit message: header, summary, facts as fields, items, and a context with the link', async () => {
    const server = await receiver();
    const url = `${server.origin}/services/T000/B000/XXXXXXXXXXXXXXXX`;
    const delivery = await sender.send({ id: 1, name: 'ops', kind: 'slack', config: { webhook_url: url } }, newItemsBody(12));
    expect(delivery).toMatchObject({ ok: true, status_code: 200, response: 'ok', error: null });

    const [request] = server.requests;
    expect(request?.url).toBe('/services/T000/B000/XXXXXXXXXXXXXXXX');
    expect(request?.headers['content-type']).toMatch(/^application\/json/);
    const body = JSON.parse(request?.body.toString() ?? '{}') as { text: string; blocks: { type: string; [k: string]: unknown }[] };
    expect(body.text).toContain('12 new items: shop feed');
    expect(body.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'section', 'context']);
    const [header, summary, facts, items, context] = body.blocks as unknown as [
      { text: { type: string; text: string } },
      { text: { type: string; text: string } },
      { fields: { type: string; text: string }[] },
      { text: { type: string; text: string } },
      { elements: { type: string; text: string }[] },
    ];
    expect(header.text).toEqual({ type: 'plain_text', text: '12 new items: shop feed', emoji: true });
    expect(header.text.text.length).toBeLessThanOrEqual(150);
    expect(summary.text.type).toBe('mrkdwn');
    expect(facts.fields.length).toBeLessThanOrEqual(10);
    expect(facts.fields[0]).toEqual({ type: 'mrkdwn', text: '*Target*\nhttps://shop.example/api/search?q=lamp' });
    // Item titles are links, escaped for mrkdwn; ten are listed and the rest counted.
    expect(items.text.text).toContain('<https://shop.example/items/1|Lamp &lt;b&gt;&amp;&lt;/b&gt; "shade">');
    expect(items.text.text).toContain('price: 10');
    expect(items.text.text.match(/^• /gm)).toHaveLength(10);
    expect(items.text.text).toContain('_and 2 more_');
    expect(items.text.text.length).toBeLessThanOrEqual(3000);
    expect(context.elements[0]?.text).toContain('<https://vigil.example.com/ui/tasks/42|Open in Vigil>');
  });

  it('says why a down happened, in the summary and the fields', async () => {
    const server = await receiver();
    await sender.send({ id: 1, name: 'ops', kind: 'slack', config: { webhook_url: `${server.origin}/hook/abcdefghij` } }, downBody());
    const body = JSON.parse(server.requests[0]?.body.toString() ?? '{}') as { text: string; blocks: { fields?: { text: string }[] }[] };
    expect(body.text).toBe('Down: shop <api> — shop <api> is down: status 500 not in 200-399.');
    const fields = body.blocks.flatMap((b) => b.fields ?? []).map((f) => f.text);
    expect(fields).toContain('*Reason*\nstatus 500 not in 200-399');
    expect(fields).toContain('*Confirmed*\n3 checks in a row');
  });

  it('reports Slack’s refusal without the webhook’s secret path', async () => {
    const server = await receiver(404, 'no_service');
    const secretPath = '/services/T111/B222/SecretTokenValue1234';
    const delivery = await sender.send({ id: 1, name: 'ops', kind: 'slack', config: { webhook_url: server.origin + secretPath } }, downBody());
    expect(delivery).toMatchObject({ ok: false, status_code: 404, error: 'receiver answered 404: no_service' });
    expect(JSON.stringify(delivery)).not.toContain('SecretTokenValue1234');
  });

  it('refuses a config without a URL, naming the field', () => {
    const result = slackConfigSchema.safeParse({ webhook_url: 'ftp://x' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['webhook_url']);
  });
});
