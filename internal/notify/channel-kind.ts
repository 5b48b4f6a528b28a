import { z } from 'zod';
import type { OutboundPolicy } from '../handlers/outbound/index.js';
import type { AlertBody, AlertMessage } from './message.js';

/**
 * The one small interface every channel kind implements: check a config, format a message, deliver it. A kind is
 * one file under `kinds/` with its config schema beside its code; {@link CHANNEL_KINDS} lists them. Delivery
 * reports what happened and never throws for a failed delivery: retrying, recording and backing off are the
 * outbox's job, not the kind's.
 */

/** The outcome of one delivery attempt, as the outbox records it and `POST /channels/:id/test` reports it. */
export interface Delivery {
  /** The other side accepted the message. */
  ok: boolean;
  /** The HTTP status, or the SMTP reply code; null when there was no answer. */
  status_code: number | null;
  /** The start of what the other side answered, or null when it answered nothing. */
  response: string | null;
  /** Why it failed, or null when `ok`. Never holds a secret of the channel (the sender scrubs them). */
  error: string | null;
  duration_ms: number;
}

/** What a delivery may use. Built once per process; the same for every kind. */
export interface DeliveryContext {
  /** `APP_HTTP_DENY_CIDRS`: every HTTP request and every SMTP connection goes through its checks. */
  policy: OutboundPolicy;
  /** Aborted on shutdown: the delivery stops and the abort reason is rethrown (the only throw allowed). */
  signal: AbortSignal;
  /** The attempt's own timeout, in ms; running out is a failed delivery. */
  timeoutMs: number;
  /** `APP_WEBHOOK_SECRET`, the default signing key of webhooks. */
  webhookSecret: string | undefined;
}

/**
 * How a secret field is shown by the API: a URL keeps its scheme and host (`https://hooks.slack.com/…/****`), an
 * opaque value (a password, a token) is only `****`.
 */
export type SecretStyle = 'url' | 'opaque';

/** A kind of channel, typed by its config schema `S` and the payload `P` it formats. */
export interface ChannelKind<S extends z.ZodType, P> {
  /** The `kind` of a channel: `webhook`, `email`, `slack`, … */
  kind: string;
  /** One line for the OpenAPI document and the README. */
  description: string;
  /** The channel's `config`; a strict object whose bad fields are named in a 400. */
  configSchema: S;
  /** Top-level config fields that hold secrets, and how each is masked. */
  secrets: Readonly<Record<string, SecretStyle>>;
  /** Formats a message in this service's own format. Pure: no I/O. */
  format(message: AlertMessage, body: AlertBody, config: z.output<S>): P;
  /** Sends a formatted message once. Never throws except with `ctx.signal`'s reason. */
  deliver(payload: P, config: z.output<S>, ctx: DeliveryContext): Promise<Delivery>;
}

/** A kind with its types erased, as the registry and the sender hold it. */
export interface RegisteredChannelKind {
  kind: string;
  description: string;
  configSchema: z.ZodType;
  secrets: Readonly<Record<string, SecretStyle>>;
  /** Checks a stored config, formats and returns the payload (for tests and previews). */
  render(message: AlertMessage, body: AlertBody, config: unknown): unknown;
  /** Checks a stored config, formats, delivers. An unreadable config is a failed delivery that names the field. */
  send(message: AlertMessage, body: AlertBody, config: unknown, ctx: DeliveryContext): Promise<Delivery>;
}

/** Defines a kind with its config type inferred from its schema. */
export function defineChannelKind<S extends z.ZodType, P>(kind: ChannelKind<S, P>): RegisteredChannelKind {
  const parse = (config: unknown): { ok: true; config: z.output<S> } | { ok: false; error: string } => {
    const parsed = kind.configSchema.safeParse(config);
    if (parsed.success) return { ok: true, config: parsed.data };
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? 'config' : `config.${issue.path.map(String).join('.')}`;
    return { ok: false, error: `the channel's ${where} is invalid: ${issue?.message ?? 'unreadable'}` };
  };
  return {
    kind: kind.kind,
    description: kind.description,
    configSchema: kind.configSchema,
    secrets: kind.secrets,
    render(message, body, config) {
      const parsed = parse(config);
      if (!parsed.ok) throw new TypeError(parsed.error);
      return kind.format(message, body, parsed.config);
    },
    async send(message, body, config, ctx) {
      const parsed = parse(config);
      if (!parsed.ok) return { ok: false, status_code: null, response: null, error: parsed.error, duration_ms: 0 };
      return kind.deliver(kind.format(message, body, parsed.config), parsed.config, ctx);
    },
  };
}

/** An optional secret of a channel (an access token, an HMAC key): 1 to 500 characters. */
export function optionalSecretSchema(description: string) {
  return z
    .string()
    .min(1, { error: 'must not be empty' })
    .max(500, { error: 'must be at most 500 characters' })
    .optional()
    .meta({ description });
}

/** An http or https URL of at most 2,000 characters (webhooks, chat services, servers). */
export function httpUrlSchema(description: string) {
  return z
    .url({ protocol: /^https?$/, error: 'must be an http or https URL' })
    .max(2000, { error: 'must be at most 2000 characters' })
    .meta({ description });
}
