/**
 * Notification channels: one file per kind under `kinds/` behind one small interface (format a message, deliver
 * it), the message every kind renders, secret masking, and the sender the outbox and the API use. No store, no
 * express, no Redis here: the scheduler's notifier and the API hand channels in and record what comes out.
 */
export {
  type ChannelKind,
  type Delivery,
  type DeliveryContext,
  type RegisteredChannelKind,
  type SecretStyle,
  defineChannelKind,
} from './channel-kind.js';
export { CHANNEL_KINDS, CHANNEL_KIND_NAMES, channelKindOf } from './kinds.js';
export {
  type AlertBody,
  type AlertMessage,
  type MessageFact,
  type MessageItem,
  type MessageOptions,
  type MessageSeverity,
  MAX_MESSAGE_ITEMS,
  alertMessageOf,
  taskLink,
  testBody,
  webhookBodyOf,
} from './message.js';
export { SECRET_MASK, isMask, maskConfig, maskSecret, mergeConfig, scrubSecrets, secretValues } from './secrets.js';
export { type ChannelSenderConfig, type ChannelTarget, ChannelSender, DEFAULT_DELIVERY_TIMEOUT_MS } from './channel-sender.js';
