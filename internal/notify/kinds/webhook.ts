import { z } from 'zod';
import { defineChannelKind, httpUrlSchema, optionalSecretSchema } from '../channel-kind.js';
import { postJson } from '../http-post.js';
import { webhookBodyOf } from '../message.js';

/**
 * `webhook`: the signed JSON POST a task's `notify.webhook_url` has always sent, as a reusable channel. The body is
 * `{task_id, name, event, output, timestamp}`, signed with the channel's own `secret`, or `APP_WEBHOOK_SECRET`
 * when it has none, in `X-Vigil-Signature: sha256=<hex>`.
 */
export const webhookConfigSchema = z
  .strictObject({
    url: httpUrlSchema('The receiver. Treated as a secret: the API shows only its scheme and host.'),
    secret: optionalSecretSchema('HMAC key for this channel; default APP_WEBHOOK_SECRET. Never returned.'),
  })
  .meta({ id: 'WebhookChannelConfig' });

export const webhookKind = defineChannelKind({
  kind: 'webhook',
  description: 'A signed JSON POST of {task_id, name, event, output, timestamp} to a URL.',
  configSchema: webhookConfigSchema,
  secrets: { url: 'url', secret: 'opaque' },
  format: (_message, body) => webhookBodyOf(body),
  deliver: (payload, config, ctx) => postJson(config.url, payload, ctx, { signingSecret: config.secret ?? ctx.webhookSecret }),
});
