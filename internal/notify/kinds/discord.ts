import { z } from 'zod';
import { defineChannelKind, httpUrlSchema } from '../channel-kind.js';
import { jsonField, postJson } from '../http-post.js';
import type { AlertMessage, MessageSeverity } from '../message.js';

/**
 * `discord`: a Discord webhook (https://discord.com/developers/docs/resources/webhook#execute-webhook). The message
 * is one embed: the headline as title (linked back to the task), the summary and the new items as description,
 * the facts as fields, a colour by severity and the time. Mentions are disabled, so an item titled `@everyone`
 * pings nobody. Discord answers 204, or JSON with a `message` saying what was wrong.
 */
export const discordConfigSchema = z
  .strictObject({
    webhook_url: httpUrlSchema('The webhook URL Discord gave (https://discord.com/api/webhooks/…). A secret.'),
    username: z.string().min(1).max(80, { error: 'must be at most 80 characters' }).optional().meta({ description: 'Overrides the webhook’s name.' }),
  })
  .meta({ id: 'DiscordChannelConfig' });

/** Discord's embed limits: title 256, description 4,096, 25 fields of name 256 and value 1,024. */
const TITLE_CHARS = 256;
const DESCRIPTION_CHARS = 4096;
const MAX_FIELDS = 25;
const FIELD_NAME_CHARS = 256;
const FIELD_VALUE_CHARS = 1024;

const COLOURS: Record<MessageSeverity, number> = { critical: 0xd83c3e, warning: 0xf0a020, ok: 0x2ea043, info: 0x3b82f6 };

export interface DiscordEmbed {
  title: string;
  description: string;
  url?: string;
  color: number;
  fields: { name: string; value: string; inline: boolean }[];
  timestamp: string;
  footer: { text: string };
}

export interface DiscordMessage {
  username?: string;
  embeds: DiscordEmbed[];
  allowed_mentions: { parse: string[] };
}

/** Escapes Discord markdown so that a title such as `*sale*` shows as written. */
export function discordEscape(text: string): string {
  // A bare URL stays as written, so that Discord still links it.
  if (/^https?:\/\/\S+$/.test(text)) return text;
  return text.replace(/([\\*_~`|[\]])/g, '\\$1').replace(/^([>#-])/gm, '\\$1');
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function formatDiscord(message: AlertMessage, username?: string): DiscordMessage {
  const lines = [discordEscape(message.summary)];
  if (message.items.length > 0) {
    lines.push('');
    for (const item of message.items) {
      const title = item.url === null ? `**${discordEscape(item.title)}**` : `[${discordEscape(item.title)}](${item.url})`;
      const fields = item.fields.map((f) => `${discordEscape(f.name)}: ${discordEscape(f.value)}`).join(' · ');
      lines.push(`• ${title}${fields === '' ? '' : ` — ${fields}`}`);
    }
    const more = message.itemCount - message.items.length;
    if (more > 0) lines.push(`*and ${more} more*`);
  }
  const embed: DiscordEmbed = {
    title: cut(message.headline, TITLE_CHARS),
    description: cut(lines.join('\n'), DESCRIPTION_CHARS),
    ...(message.link === null ? {} : { url: message.link }),
    color: COLOURS[message.severity],
    fields: message.facts.slice(0, MAX_FIELDS).map((f) => ({
      name: cut(f.label, FIELD_NAME_CHARS),
      value: cut(discordEscape(f.value), FIELD_VALUE_CHARS),
      inline: f.value.length <= 40,
    })),
    timestamp: message.at.toISOString(),
    footer: { text: 'Vigil' },
  };
  return { ...(username === undefined ? {} : { username }), embeds: [embed], allowed_mentions: { parse: [] } };
}

export const discordKind = defineChannelKind({
  kind: 'discord',
  description: 'A Discord webhook, as one embed.',
  configSchema: discordConfigSchema,
  secrets: { webhook_url: 'url' },
  format: (message, _body, config) => formatDiscord(message, config.username),
  deliver: (payload, config, ctx) => postJson(config.webhook_url, payload, ctx, { explain: (answer) => jsonField(answer, 'message') }),
});
