import { z } from 'zod';
import { defineChannelKind, httpUrlSchema, optionalSecretSchema } from '../channel-kind.js';
import { jsonField, postJson } from '../http-post.js';
import type { AlertMessage, MessageSeverity } from '../message.js';

/**
 * `ntfy`: a push notification through an ntfy server (https://docs.ntfy.sh/publish/#publish-as-json), POSTed as
 * JSON to the server's root with the topic in the body. The server is configurable (self-hosted, or a test
 * receiver) and defaults to https://ntfy.sh; an access token, when set, goes in `Authorization: Bearer`. Anyone who
 * knows a topic on the public server can read it: use a token or a server of your own for anything private.
 */
export const ntfyConfigSchema = z
  .strictObject({
    server: httpUrlSchema('The ntfy server. Default https://ntfy.sh.').default('https://ntfy.sh'),
    topic: z
      .string()
      .regex(/^[-_A-Za-z0-9]{1,64}$/, { error: 'must be 1–64 letters, digits, - or _' })
      .meta({ description: 'The topic to publish to.' }),
    token: optionalSecretSchema('An access token (tk_…), sent as a Bearer token. A secret.'),
    priority: z.int().min(1, { error: 'must be from 1 to 5' }).max(5, { error: 'must be from 1 to 5' }).optional().meta({
      description: 'Overrides the priority (default: 5 for down, 4 for warnings, 3 otherwise).',
    }),
  })
  .meta({ id: 'NtfyChannelConfig' });

/** ntfy turns a message longer than 4,096 bytes into an attachment; stay under. */
const MESSAGE_BYTES = 4000;

const PRIORITY: Record<MessageSeverity, number> = { critical: 5, warning: 4, ok: 3, info: 3 };
const TAGS: Record<MessageSeverity, string> = { critical: 'rotating_light', warning: 'warning', ok: 'white_check_mark', info: 'information_source' };

export interface NtfyMessage {
  topic: string;
  title: string;
  message: string;
  priority: number;
  tags: string[];
  click?: string;
}

export function formatNtfyText(message: AlertMessage): string {
  const lines = [message.summary];
  for (const f of message.facts) lines.push(`${f.label}: ${f.value}`);
  if (message.items.length > 0) {
    lines.push('');
    for (const item of message.items) {
      const fields = item.fields.map((f) => `${f.name}: ${f.value}`).join(', ');
      lines.push(`• ${item.title}${item.url === null ? '' : ` ${item.url}`}${fields === '' ? '' : ` (${fields})`}`);
    }
    const more = message.itemCount - message.items.length;
    if (more > 0) lines.push(`and ${more} more`);
  }
  let text = lines.join('\n');
  while (Buffer.byteLength(text, 'utf8') > MESSAGE_BYTES) text = `${text.slice(0, Math.floor(text.length * 0.9))}…`;
  return text;
}

export const ntfyKind = defineChannelKind({
  kind: 'ntfy',
  description: 'A push notification through ntfy (JSON publish).',
  configSchema: ntfyConfigSchema,
  secrets: { token: 'opaque' },
  format: (message, _body, config): NtfyMessage => ({
    topic: config.topic,
    title: message.headline,
    message: formatNtfyText(message),
    priority: config.priority ?? PRIORITY[message.severity],
    tags: [TAGS[message.severity]],
    ...(message.link === null ? {} : { click: message.link }),
  }),
  deliver: (payload, config, ctx) =>
    postJson(config.server.replace(/\/+$/, '') + '/', payload, ctx, {
      ...(config.token === undefined ? {} : { headers: { authorization: `Bearer ${config.token}` } }),
      explain: (answer) => jsonField(answer, 'error'),
    }),
});
