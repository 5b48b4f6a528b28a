import type { OutboundPolicy } from '../handlers/outbound/index.js';
import type { Delivery, DeliveryContext } from './channel-kind.js';
import { channelKindOf } from './kinds.js';
import { type AlertBody, alertMessageOf, testBody } from './message.js';
import { scrubSecrets, secretValues } from './secrets.js';

/** Where a notification goes: a stored channel, or the implicit webhook of a task's `notify.webhook_url`. */
export interface ChannelTarget {
  /** The channel's id; null for a task's own `webhook_url`. */
  id: number | null;
  name: string;
  kind: string;
  /** The stored config, secrets included. */
  config: Record<string, unknown>;
}

export interface ChannelSenderConfig {
  /** `APP_WEBHOOK_SECRET`: signs webhooks that have no secret of their own. */
  webhookSecret: string | undefined;
  /** `APP_PUBLIC_URL`: base of the links in messages; unset leaves them out. */
  publicUrl: string | undefined;
  /** Per-attempt timeout in ms. Default 10,000. */
  timeoutMs?: number;
}

/** Default of {@link ChannelSenderConfig.timeoutMs}. */
export const DEFAULT_DELIVERY_TIMEOUT_MS = 10_000;

/**
 * Formats an outbox body for a channel and delivers it once, through the channel's kind. The result's error and
 * response are scrubbed of the channel's secrets, so they can be recorded, logged and shown as they are. Used by
 * the scheduler's notifier for the outbox, and by the API for `POST /channels/:id/test`.
 */
export class ChannelSender {
  private readonly timeoutMs: number;

  constructor(
    private readonly deps: { policy: OutboundPolicy },
    private readonly config: ChannelSenderConfig,
  ) {
    this.timeoutMs = config.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS;
  }

  /**
   * Sends `body` to `target` once. Never throws for a failed delivery; rethrows only `signal`'s reason when it
   * aborts (shutdown), so that a delivery cut short is not recorded as failed.
   */
  async send(target: ChannelTarget, body: AlertBody, signal: AbortSignal = new AbortController().signal): Promise<Delivery> {
    const kind = channelKindOf(target.kind);
    if (kind === undefined) {
      return { ok: false, status_code: null, response: null, error: `unknown channel kind ${JSON.stringify(target.kind)}`, duration_ms: 0 };
    }
    const ctx: DeliveryContext = { policy: this.deps.policy, signal, timeoutMs: this.timeoutMs, webhookSecret: this.config.webhookSecret };
    const message = alertMessageOf(body, { publicUrl: this.config.publicUrl });
    let delivery: Delivery;
    try {
      delivery = await kind.send(message, body, target.config, ctx);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      // A kind must not throw; if one does, it is a failed delivery like any other, with a scrubbed reason.
      delivery = { ok: false, status_code: null, response: null, error: err instanceof Error ? err.message : String(err), duration_ms: 0 };
    }
    const secrets = secretValues(kind, target.config);
    return {
      ...delivery,
      error: delivery.error === null ? null : scrubSecrets(delivery.error, secrets),
      response: delivery.response === null ? null : scrubSecrets(delivery.response, secrets),
    };
  }

  /** Sends a test message (event `test`, no task) to a channel and reports what the other side answered. */
  test(target: ChannelTarget, now: Date, signal?: AbortSignal): Promise<Delivery> {
    return this.send(target, testBody(target.name, now), signal);
  }
}
