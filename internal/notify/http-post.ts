import { deliverWebhook } from '../handlers/outbound/index.js';
import type { Delivery, DeliveryContext } from './channel-kind.js';

/** Characters of a refusal's answer quoted in the recorded error. */
const QUOTED_ANSWER_CHARS = 300;

export interface PostJsonOptions {
  /** Extra headers (an `Authorization`, say). */
  headers?: Readonly<Record<string, string>>;
  /** Signs the body in `X-Vigil-Signature` (webhooks only). */
  signingSecret?: string | undefined;
  /**
   * Reads a refusal's answer into a short reason, for services that explain themselves in JSON (Telegram's
   * `description`, Discord's `message`). Default: the answer's first characters as they are.
   */
  explain?: (answer: string) => string | undefined;
}

/**
 * One JSON POST to a chat service or webhook through the outbound policy (denied addresses refused, no
 * redirects followed), as a {@link Delivery}. A refusal's error quotes the start of the service's answer, which
 * is where Slack, Discord, Telegram and ntfy say what was wrong ("invalid_token", "chat not found").
 */
export async function postJson(url: string, payload: object, ctx: DeliveryContext, options: PostJsonOptions = {}): Promise<Delivery> {
  const result = await deliverWebhook({
    url,
    body: payload,
    secret: options.signingSecret,
    ...(options.headers === undefined ? {} : { headers: options.headers }),
    policy: ctx.policy,
    signal: ctx.signal,
    timeoutMs: ctx.timeoutMs,
  });
  let error = result.error;
  if (!result.ok && result.status_code !== null && result.response !== null && result.response.trim() !== '') {
    const reason = (options.explain?.(result.response) ?? result.response).replace(/\s+/g, ' ').trim();
    if (reason !== '') error = `${error ?? 'refused'}: ${reason.slice(0, QUOTED_ANSWER_CHARS)}`;
  }
  return { ok: result.ok, status_code: result.status_code, response: result.response, error, duration_ms: result.duration_ms };
}

/** The `field` of a JSON answer when it is a string (for {@link PostJsonOptions.explain}). */
export function jsonField(answer: string, field: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(answer);
    if (parsed !== null && typeof parsed === 'object' && typeof (parsed as Record<string, unknown>)[field] === 'string') {
      return (parsed as Record<string, string>)[field];
    }
  } catch {
    // Not JSON: the caller falls back to the text itself.
  }
  return undefined;
}
