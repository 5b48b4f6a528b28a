import type { JsonObject } from './types.js';

/**
 * Size caps on what handlers hand to the store (G4): a run's output, and the notification bodies that copy it, are
 * cut to a configured number of bytes (APP_MAX_OUTPUT_BYTES) before any SQL is built, so that no output can make a
 * statement the database refuses (MariaDB's `max_allowed_packet`, 16 MiB by default, counts the escaped text).
 */

/** APP_MAX_OUTPUT_BYTES by default: 256 KiB of JSON. */
export const DEFAULT_MAX_OUTPUT_BYTES = 256 * 1024;

/** Error texts are cut to this many characters: `TEXT` columns hold 65,535 bytes, and a character takes up to 4. */
export const MAX_ERROR_CHARS = 8000;

/** Top-level fields of a cut output that are kept when each is at most this many bytes of JSON. */
const SMALL_FIELD_BYTES = 2048;

/** What a cut output says about itself, under `output_truncated`. */
export interface OutputTruncation {
  /** Bytes of the whole output as JSON. */
  original_bytes: number;
  /** The cap it was cut to. */
  max_bytes: number;
  /** Top-level fields left out (the large ones); empty when the output was not an object. */
  dropped_fields: string[];
  /** The start of the whole output's JSON text. */
  preview: string;
}

/**
 * Returns `value` unchanged when its JSON is at most `maxBytes` (UTF-8), and otherwise an object that is: the
 * small top-level fields of an object output (`up`, `status_code`, `events`… stay readable), and
 * `output_truncated` ({@link OutputTruncation}) with the start of the JSON text. The result's JSON is at most
 * `maxBytes` (for any cap of 1 KiB or more).
 */
export function capJsonValue(value: unknown, maxBytes: number): unknown {
  if (value === undefined) return value;
  const json = JSON.stringify(value) ?? 'null';
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes <= maxBytes) return value;

  const kept: JsonObject = {};
  const dropped: string[] = [];
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    let used = 0;
    for (const [key, field] of Object.entries(value as JsonObject)) {
      const size = Buffer.byteLength(JSON.stringify(field) ?? 'null', 'utf8') + Buffer.byteLength(key, 'utf8') + 4;
      if (key !== 'output_truncated' && size <= SMALL_FIELD_BYTES && used + size <= maxBytes / 4) {
        kept[key] = field as JsonObject[string];
        used += size;
      } else {
        dropped.push(key);
      }
    }
  }
  const build = (previewChars: number): JsonObject => ({
    ...kept,
    output_truncated: {
      original_bytes: bytes,
      max_bytes: maxBytes,
      dropped_fields: dropped.slice(0, 50),
      preview: cutAtChar(json, previewChars),
    },
  });
  // The preview is escaped again inside the result (a quote becomes \" and a control character \u0000), so its
  // length is found by measuring, shrinking in proportion until the whole fits.
  let chars = Math.min(json.length, maxBytes);
  for (let i = 0; i < 8; i += 1) {
    const size = Buffer.byteLength(JSON.stringify(build(chars)), 'utf8');
    if (size <= maxBytes) return build(chars);
    chars = Math.floor((chars * maxBytes) / size * 0.9);
  }
  return build(0);
}

/** Cuts a text to `maxChars`, saying how much was left out. */
export function capText(text: string, maxChars?: number): string;
export function capText(text: string | null, maxChars?: number): string | null;
export function capText(text: string | null, maxChars = MAX_ERROR_CHARS): string | null {
  if (text === null || text.length <= maxChars) return text;
  const note = ` … (${text.length - maxChars} more characters cut)`;
  return `${cutAtChar(text, Math.max(0, maxChars - note.length))}${note}`;
}

/** The first `chars` UTF-16 units of `text`, never splitting a surrogate pair. */
function cutAtChar(text: string, chars: number): string {
  if (chars <= 0) return '';
  if (chars >= text.length) return text;
  const code = text.charCodeAt(chars - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? chars - 1 : chars);
}
