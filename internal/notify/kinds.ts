import type { RegisteredChannelKind } from './channel-kind.js';
import { discordKind } from './kinds/discord.js';
import { emailKind } from './kinds/email.js';
import { ntfyKind } from './kinds/ntfy.js';
import { slackKind } from './kinds/slack.js';
import { telegramKind } from './kinds/telegram.js';
import { webhookKind } from './kinds/webhook.js';

/** Every kind of channel, in the order the API documents them. Adding a kind is one file under `kinds/` and one line here. */
export const CHANNEL_KINDS: readonly RegisteredChannelKind[] = Object.freeze([
  webhookKind,
  emailKind,
  slackKind,
  discordKind,
  telegramKind,
  ntfyKind,
]);

/** The names of the kinds: `webhook`, `email`, `slack`, `discord`, `telegram`, `ntfy`. */
export const CHANNEL_KIND_NAMES = CHANNEL_KINDS.map((k) => k.kind) as readonly string[];

/** The kind named `kind`, or undefined. */
export function channelKindOf(kind: string): RegisteredChannelKind | undefined {
  return CHANNEL_KINDS.find((k) => k.kind === kind);
}
