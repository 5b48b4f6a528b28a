import type { RegisteredChannelKind, SecretStyle } from './channel-kind.js';

/**
 * Secrets of a channel: how the API shows them (masked, never whole), how a change that sends a masked value back
 * keeps the stored one, and how error text is scrubbed of them before it is recorded, logged or answered.
 */

/** What an opaque secret looks like in the API. */
export const SECRET_MASK = '****';

/** `https://hooks.slack.com/…/****` for a URL; `****` for anything else (or a URL that does not parse). */
export function maskSecret(value: unknown, style: SecretStyle): string {
  if (style === 'url' && typeof value === 'string') {
    try {
      return `${new URL(value).origin}/…/${SECRET_MASK}`;
    } catch {
      return SECRET_MASK;
    }
  }
  return SECRET_MASK;
}

/** A copy of `config` with every secret field masked; fields that are not set stay absent. */
export function maskConfig(kind: RegisteredChannelKind, config: Record<string, unknown>): Record<string, unknown> {
  const masked: Record<string, unknown> = { ...config };
  for (const [field, style] of Object.entries(kind.secrets)) {
    if (masked[field] !== undefined && masked[field] !== null) masked[field] = maskSecret(masked[field], style);
  }
  return masked;
}

/**
 * The config a change leaves: `patch` laid over `stored` field by field, where `null` removes a field, and a secret
 * sent back as it was shown (its mask) keeps the stored value, so that a client may send back what it read.
 */
export function mergeConfig(
  kind: RegisteredChannelKind,
  stored: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...stored };
  for (const [field, value] of Object.entries(patch)) {
    const style = kind.secrets[field];
    if (style !== undefined && typeof value === 'string' && field in stored && (value === SECRET_MASK || value === maskSecret(stored[field], style))) {
      continue;
    }
    if (value === null) delete merged[field];
    else merged[field] = value;
  }
  return merged;
}

/** Whether a value sent for a secret field is a mask rather than a real secret (refused on create). */
export function isMask(value: unknown): boolean {
  return typeof value === 'string' && (value === SECRET_MASK || value.endsWith(`/…/${SECRET_MASK}`));
}

/**
 * The strings that must never appear in a log line or error body: each secret whole and, for URLs, their path and
 * query (where webhook tokens live) and each long path segment.
 */
export function secretValues(kind: RegisteredChannelKind, config: Record<string, unknown>): string[] {
  const values = new Set<string>();
  for (const [field, style] of Object.entries(kind.secrets)) {
    const value = config[field];
    if (typeof value !== 'string' || value === '') continue;
    values.add(value);
    if (style === 'url') {
      try {
        const url = new URL(value);
        if (url.pathname.length > 1) values.add(url.pathname + url.search);
        for (const segment of url.pathname.split('/')) if (segment.length >= 8) values.add(segment);
        if (url.search.length > 1) values.add(url.search.slice(1));
        if (url.password !== '') values.add(url.password);
      } catch {
        // Not a URL: the whole value is already listed.
      }
    }
  }
  // Longest first, so that a secret containing another is replaced whole.
  return [...values].filter((v) => v.length >= 4).sort((a, b) => b.length - a.length);
}

/** `text` with every secret replaced by the mask. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join(SECRET_MASK);
  return out;
}
