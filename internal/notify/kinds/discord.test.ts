import { describe, expect, it } from 'vitest';
import { type LocalServer, reply, startServer } from '../../handlers/outbound/test-support.js';
import { downBody, newItemsBody, upBody, useTestSender } from '../test-fixtures.js';
import type { DiscordEmbed } from './discord.js';

/** Discord webhooks: a local receiver checks each body against the documented execute-webhook shape and limits. */
describe('discord channel', () => {
  const { sender, track } = useTestSender();

  async function receiver(status = 204, answer: string | object = ''): Promise<LocalServer> {
    const server = await startServer((_req, res) => (status === 204 ? res.writeHead(204).end() : reply(res, status, answer)));
    track(server);
    return server;
  }

  it('posts one embed: title linked to the task, colour by severity, facts as fields, no mentions', async () => {
    const server = await receiver();
    const delivery = await sender.send(
      { id: 2, name: 'dev', kind: 'discord', config: { webhook_url: `${server.origin}/api/webhooks/1/tok`, username: 'Vigil' } },
      downBody(),
    );
    expect(delivery).toMatchObject({ ok: true, status_code: 204, error: null });
    const body = JSON.parse(server.requests[0]?.body.toString() ?? '{}') as { username: string; embeds: DiscordEmbed[]; allowed_mentions: { parse: string[] } };
    expect(body.username).toBe('Vigil');
    expect(body.allowed_mentions).toEqual({ parse: [] });
    expect(body.embeds).toHaveLength(1);
    const [embed] = body.embeds as [DiscordEmbed];
    expect(embed.title).toBe('Down: shop <api>');
    expect(embed.url).toBe('https://vigil.example.com/ui/tasks/42');
    expect(embed.color).toBe(0xd83c3e);
    expect(embed.timestamp).toBe('2031-05-06T07:08:09.000Z');
    expect(embed.fields).toContainEqual({ name: 'Reason', value: 'status 500 not in 200-399', inline: true });
    expect(embed.fields).toContainEqual({ name: 'Target', value: 'https://shop.example/api/health', inline: true });
    expect(embed.fields.length).toBeLessThanOrEqual(25);
    for (const f of embed.fields) {
      expect(f.name.length).toBeLessThanOrEqual(256);
      expect(f.value.length).toBeLessThanOrEqual(1024);
    }
  });

  it('lists new items as markdown links in the description, escaped', async () => {
    const server = await receiver();
    await sender.send({ id: 2, name: 'dev', kind: 'discord', config: { webhook_url: `${server.origin}/api/webhooks/1/tok` } }, newItemsBody(2));
    const [embed] = (JSON.parse(server.requests[0]?.body.toString() ?? '{}') as { embeds: DiscordEmbed[] }).embeds as [DiscordEmbed];
    expect(embed.title).toBe('2 new items: shop feed');
    expect(embed.description).toContain('• [Lamp <b>&</b> "shade"](https://shop.example/items/1) — id: sku-1 · price: 10 · in\\_stock: true');
    expect(embed.description.length).toBeLessThanOrEqual(4096);
    expect(embed.color).toBe(0x3b82f6);
  });

  it('is green when a target is up again and says for how long it was down', async () => {
    const server = await receiver();
    await sender.send({ id: 2, name: 'dev', kind: 'discord', config: { webhook_url: `${server.origin}/w` } }, upBody());
    const [embed] = (JSON.parse(server.requests[0]?.body.toString() ?? '{}') as { embeds: DiscordEmbed[] }).embeds as [DiscordEmbed];
    expect(embed.color).toBe(0x2ea043);
    expect(embed.description).toBe('shop feed is up again after 2 minutes down.');
  });

  it('reports Discord’s own explanation of a refusal', async () => {
    const server = await receiver(404, { message: 'Unknown Webhook', code: 10015 });
    const delivery = await sender.send({ id: 2, name: 'dev', kind: 'discord', config: { webhook_url: `${server.origin}/api/webhooks/1/SECRETTOKEN99` } }, downBody());
    expect(delivery).toMatchObject({ ok: false, status_code: 404, error: 'receiver answered 404: Unknown Webhook' });
    expect(JSON.stringify(delivery)).not.toContain('SECRETTOKEN99');
  });
});
