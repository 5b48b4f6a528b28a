import { z } from 'zod';
import { defineChannelKind, httpUrlSchema } from '../channel-kind.js';
import { jsonField, postJson } from '../http-post.js';
import type { AlertMessage, MessageSeverity } from '../message.js';

/**
 * `telegram`: a message from a bot (https://core.telegram.org/bots/api#sendmessage), POSTed as JSON to
 * `<api_base>/bot<bot_token>/sendMessage` with `parse_mode: "HTML"`. The API base is configurable so that a local
 * Bot API server (or a test receiver) can stand in for api.telegram.org. Telegram answers `{"ok":true,…}`, or
 * `{"ok":false,"description":"Bad Request: chat not found"}`.
 */
export const telegramConfigSchema = z
  .strictObject({
    bot_token: z
      .string()
      .regex(/^\d+:[A-Za-z0-9_-]{20,}$/, { error: 'must be a bot token like 123456789:AAE… (from @BotFather)' })
      .meta({ description: 'The bot’s token from @BotFather. A secret.' }),
    chat_id: z
      .union([z.int(), z.string().regex(/^(-?\d+|@[A-Za-z0-9_]{5,})$/, { error: 'must be a numeric chat id or @channelname' })])
      .meta({ description: 'Where the bot posts: a numeric chat id, or @channelname.' }),
    message_thread_id: z.int().positive().optional().meta({ description: 'A topic of a forum group.' }),
    api_base: httpUrlSchema('The Bot API server. Default https://api.telegram.org.').default('https://api.telegram.org'),
  })
  .meta({ id: 'TelegramChannelConfig' });

/** Telegram's limit on a message's text, counted after entities are parsed; kept well under. */
const TEXT_CHARS = 4000;

const EMOJI: Record<MessageSeverity, string> = { critical: '🔴', warning: '⚠️', ok: '✅', info: '🔵' };

export interface TelegramMessage {
  chat_id: number | string;
  text: string;
  parse_mode: 'HTML';
  link_preview_options: { is_disabled: true };
  message_thread_id?: number;
}

/** The three characters Telegram's HTML mode needs escaped, plus `"` for attribute values. */
export function telegramEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function formatTelegram(message: AlertMessage): string {
  const head = [`${EMOJI[message.severity]} <b>${telegramEscape(message.headline)}</b>`, telegramEscape(message.summary)];
  if (message.facts.length > 0) {
    head.push('', ...message.facts.map((f) => `<b>${telegramEscape(f.label)}:</b> ${telegramEscape(f.value)}`));
  }
  const tail: string[] = [];
  if (message.link !== null) tail.push('', `<a href="${telegramEscape(message.link)}">Open in Vigil</a>`);
  const items = message.items.map((item) => {
    const title = item.url === null ? `<b>${telegramEscape(item.title)}</b>` : `<a href="${telegramEscape(item.url)}">${telegramEscape(item.title)}</a>`;
    const fields = item.fields.map((f) => `${telegramEscape(f.name)}: ${telegramEscape(f.value)}`).join(' · ');
    return `• ${title}${fields === '' ? '' : `\n  ${fields}`}`;
  });
  // Items are dropped from the end until the text fits, and counted instead, so that no tag is ever cut in half.
  for (let shown = items.length; ; shown -= 1) {
    const more = message.itemCount - shown;
    const list = shown > 0 || (more > 0 && items.length > 0) ? ['', ...items.slice(0, shown)] : [];
    if (more > 0 && items.length > 0) list.push(`<i>and ${more} more</i>`);
    const text = [...head, ...list, ...tail].join('\n');
    if (text.length <= TEXT_CHARS) return text;
    if (shown === 0) return `<b>${telegramEscape(message.headline.slice(0, 200))}</b>\n${telegramEscape(message.summary.slice(0, 500))}`;
  }
}

export const telegramKind = defineChannelKind({
  kind: 'telegram',
  description: 'A Telegram bot message (sendMessage, HTML).',
  configSchema: telegramConfigSchema,
  secrets: { bot_token: 'opaque' },
  format: (message, _body, config): TelegramMessage => ({
    chat_id: config.chat_id,
    text: formatTelegram(message),
    parse_mode: 'HTML',
    link_preview_options: { is_disabled: true },
    ...(config.message_thread_id === undefined ? {} : { message_thread_id: config.message_thread_id }),
  }),
  deliver: (payload, config, ctx) =>
    postJson(`${config.api_base.replace(/\/+$/, '')}/bot${config.bot_token}/sendMessage`, payload, ctx, {
      explain: (answer) => jsonField(answer, 'description'),
    }),
});
