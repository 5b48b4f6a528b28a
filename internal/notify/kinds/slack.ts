import { z } from 'zod';
import { defineChannelKind, httpUrlSchema } from '../channel-kind.js';
import { postJson } from '../http-post.js';
import type { AlertMessage, MessageSeverity } from '../message.js';

/**
 * `slack`: a Slack incoming webhook. The message is Block Kit (https://api.slack.com/block-kit): a `header`, a
 * `section` with the summary and the facts as fields, a `section` listing the new items, and a `context` with the
 * link back; `text` carries the same in one line for notifications and clients without blocks. Slack answers
 * `200 ok`, or an error word such as `invalid_payload` or `no_service`.
 */
export const slackConfigSchema = z
  .strictObject({
    webhook_url: httpUrlSchema('The incoming webhook URL Slack gave (https://hooks.slack.com/services/…). A secret.'),
  })
  .meta({ id: 'SlackChannelConfig' });

/** Slack's limits: header text 150 characters, a section's text 3,000, a field 2,000, ten fields. */
const HEADER_CHARS = 150;
const SECTION_CHARS = 3000;
const FIELD_CHARS = 2000;
const MAX_FIELDS = 10;

const EMOJI: Record<MessageSeverity, string> = { critical: ':red_circle:', warning: ':warning:', ok: ':large_green_circle:', info: ':large_blue_circle:' };

export interface SlackBlock {
  type: string;
  [key: string]: unknown;
}

export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

/** Slack's mrkdwn needs only `&`, `<` and `>` escaped (https://api.slack.com/reference/surfaces/formatting). */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

export function formatSlack(message: AlertMessage): SlackMessage {
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(message.headline, HEADER_CHARS), emoji: true } },
    { type: 'section', text: { type: 'mrkdwn', text: cut(`${EMOJI[message.severity]} ${slackEscape(message.summary)}`, SECTION_CHARS) } },
  ];
  if (message.facts.length > 0) {
    blocks.push({
      type: 'section',
      fields: message.facts
        .slice(0, MAX_FIELDS)
        .map((f) => ({ type: 'mrkdwn', text: cut(`*${slackEscape(f.label)}*\n${slackEscape(f.value)}`, FIELD_CHARS) })),
    });
  }
  if (message.items.length > 0) {
    const lines = message.items.map((item) => {
      const title = item.url === null ? `*${slackEscape(item.title)}*` : `<${item.url}|${slackEscape(item.title)}>`;
      const fields = item.fields.map((f) => `${slackEscape(f.name)}: ${slackEscape(f.value)}`).join(' · ');
      return `• ${title}${fields === '' ? '' : `\n    ${fields}`}`;
    });
    const more = message.itemCount - message.items.length;
    if (more > 0) lines.push(`_and ${more} more_`);
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: cut(lines.join('\n'), SECTION_CHARS) } });
  }
  const context = [`Vigil · <!date^${Math.floor(message.at.getTime() / 1000)}^{date_short_pretty} {time_secs}|${message.at.toISOString()}>`];
  if (message.link !== null) context.push(`<${message.link}|Open in Vigil>`);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: context.join(' · ') }] });
  return { text: `${message.headline} — ${message.summary}`, blocks };
}

export const slackKind = defineChannelKind({
  kind: 'slack',
  description: 'A Slack incoming webhook, in Block Kit.',
  configSchema: slackConfigSchema,
  secrets: { webhook_url: 'url' },
  format: (message) => formatSlack(message),
  deliver: (payload, config, ctx) => postJson(config.webhook_url, payload, ctx),
});
