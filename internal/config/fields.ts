import bytes from 'bytes';
import ms from 'ms';
import { isIP } from 'node:net';
import { validate as isValidCronLine } from 'node-cron';
import { z } from 'zod';

/**
 * Field parsers shared by the config schema. Every value may arrive either as its JSON type (from a config file)
 * or as a string (from the environment), so each parser accepts both and normalises to one typed value.
 */

/** A duration such as `500ms`, `30s`, `5m`, `1h` or `7d` (or a number of milliseconds), parsed to milliseconds. */
export function duration(opts: { min?: number } = {}) {
  const min = opts.min ?? 1;
  return z.union([z.number(), z.string()]).transform((value, ctx) => {
    const parsed = typeof value === 'number' ? value : parseDuration(value);
    if (parsed === undefined || !Number.isFinite(parsed) || parsed < min) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a duration like 500ms, 30s, 5m, 1h or 7d, at least ${min}ms (got ${JSON.stringify(value)})`,
      });
      return z.NEVER;
    }
    return Math.round(parsed);
  });
}

function parseDuration(value: string): number | undefined {
  const trimmed = value.trim();
  // `ms` also accepts bare numbers and long forms ("5 minutes"); only the short forms are documented, but the
  // long ones are harmless. A bare number is read as milliseconds.
  if (!/^\d+(\.\d+)?\s*[a-zA-Z]*$/.test(trimmed)) return undefined;
  const parsed = ms(trimmed as ms.StringValue);
  return typeof parsed === 'number' ? parsed : undefined;
}

/** A boolean written as true/false, 1/0, yes/no or on/off. */
export function bool() {
  return z.union([z.boolean(), z.string()]).transform((value, ctx) => {
    if (typeof value === 'boolean') return value;
    const v = value.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
    ctx.addIssue({ code: 'custom', message: `must be true or false (got ${JSON.stringify(value)})` });
    return z.NEVER;
  });
}

/** A whole number within [min, max]. */
export function int(min: number, max: number) {
  return z.union([z.number(), z.string()]).transform((value, ctx) => {
    const n = typeof value === 'number' ? value : /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)})` });
      return z.NEVER;
    }
    return n;
  });
}

/**
 * A size such as `256KiB`, `512kb`, `4MiB`, `1MB` (all powers of 1024, as the `bytes` library reads them) or a number
 * of bytes, parsed to bytes.
 */
export function byteSize(opts: { min: number; max: number }) {
  return z.union([z.number(), z.string()]).transform((value, ctx) => {
    const parsed = typeof value === 'number' ? value : parseByteSize(value);
    if (parsed === undefined || !Number.isInteger(parsed) || parsed < opts.min || parsed > opts.max) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a size like 256KiB, 4MiB or a number of bytes, from ${bytes.format(opts.min)} to ${bytes.format(opts.max)} (got ${JSON.stringify(value)})`,
      });
      return z.NEVER;
    }
    return parsed;
  });
}

function parseByteSize(value: string): number | undefined {
  const trimmed = value.trim();
  if (!/^\d+(\.\d+)?\s*([kmgt]i?b)?$/i.test(trimmed)) return undefined;
  // `bytes` reads kb, mb… as powers of 1024; KiB, MiB… mean the same and are what the README writes.
  const parsed = bytes.parse(trimmed.replace(/([kmgt])ib$/i, '$1b'));
  return parsed === null ? undefined : Math.floor(parsed);
}

/** A comma-separated list (or a JSON array) of non-empty strings. */
export function list() {
  return z.union([z.array(z.string()), z.string()]).transform((value) =>
    (Array.isArray(value) ? value : value.split(','))
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  );
}

/** An optional string: empty strings and null count as unset. */
export function optionalString() {
  return z
    .union([z.string(), z.null()])
    .optional()
    .transform((value) => (value === null || value === undefined || value.trim() === '' ? undefined : value.trim()));
}

/**
 * A `host:port`, `:port` or `[v6]:port` address with a port from 1 (or 0, to pick a free one) to 65535. With
 * `portOptional`, a bare host is accepted too (the caller supplies the default port).
 */
export function address(opts: { allowPortZero: boolean; portOptional?: boolean }) {
  return z.string().refine(
    (value) => {
      const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s[\]]*)(?::(\d{1,5}))?$/.exec(value.trim());
      if (match === null) return false;
      if (match[2] === undefined) return opts.portOptional === true && match[1] !== '';
      const port = Number(match[2]);
      return port <= 65535 && (port >= 1 || (opts.allowPortZero && port === 0));
    },
    { message: 'must look like host:port (or :port) with a port from 1 to 65535' },
  );
}

/**
 * A comma-separated list (or a JSON array) of `host:port` addresses; a bare host takes the caller's default port.
 * An empty list counts as unset.
 */
export function addressList() {
  const one = address({ allowPortZero: false, portOptional: true });
  return list()
    .transform((items) => (items.length === 0 ? undefined : items))
    .pipe(
      z
        .array(z.string())
        .refine((items) => items.every((item) => one.safeParse(item).success), {
          message: 'must be a comma-separated list of host:port addresses',
        })
        .optional(),
    );
}

/** A node-cron line (five fields, or six with seconds first). */
export function cronLine() {
  return z.string().refine((value) => isValidCronLine(value), { message: 'must be a valid cron line' });
}

/** `address/prefix` with an IPv4 or IPv6 address and a prefix that fits it. */
export function isCidr(value: string): boolean {
  const [address, prefix, ...rest] = value.split('/');
  if (address === undefined || prefix === undefined || rest.length > 0 || !/^\d{1,3}$/.test(prefix)) return false;
  const family = isIP(address);
  return family !== 0 && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** Splits `host:port`, `:port` or `[v6]:port`; a bare host gets `defaultPort`. */
export function splitHostPort(addr: string, defaultPort: number): [string, number] {
  const idx = addr.lastIndexOf(':');
  const bracketed = addr.startsWith('[') && addr.endsWith(']');
  const host = idx < 0 || bracketed ? addr : addr.slice(0, idx);
  const port = idx < 0 || bracketed ? defaultPort : Number(addr.slice(idx + 1));
  return [host.replace(/^\[(.*)\]$/, '$1'), port];
}

/** One accepted API token: its name (what logs show), the secret, and what it may do. */
export interface ApiTokenEntry {
  name: string;
  token: string;
  scope: 'read' | 'write';
}

const TOKEN_NAME = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * `APP_API_TOKENS`: comma-separated entries, each a bare token (scope `write`, named `token-<position>`) or
 * `name:token:scope` with scope `read` or `write`. Problems name the entry by position, never by its text, which
 * holds a secret.
 */
export function apiTokens() {
  return list().transform((entries, ctx) => {
    const tokens: ApiTokenEntry[] = [];
    entries.forEach((entry, index) => {
      const position = index + 1;
      const parts = entry.split(':');
      let parsed: ApiTokenEntry | undefined;
      if (parts.length === 1) parsed = { name: `token-${position}`, token: entry, scope: 'write' };
      else if (parts.length === 3) {
        const [name = '', token = '', scope = ''] = parts.map((p) => p.trim());
        if (!TOKEN_NAME.test(name)) {
          ctx.addIssue({ code: 'custom', message: `entry ${position}: the name must be 1 to 64 letters, digits, dots, dashes or underscores` });
          return;
        }
        if (token === '') {
          ctx.addIssue({ code: 'custom', message: `entry ${position} (${name}): the token is empty` });
          return;
        }
        if (scope !== 'read' && scope !== 'write') {
          ctx.addIssue({ code: 'custom', message: `entry ${position} (${name}): the scope must be read or write` });
          return;
        }
        parsed = { name, token, scope };
      }
      if (parsed === undefined) {
        ctx.addIssue({ code: 'custom', message: `entry ${position}: must be a bare token or name:token:scope (scope read or write)` });
        return;
      }
      const sameName = tokens.find((t) => t.name === parsed.name);
      const sameToken = tokens.find((t) => t.token === parsed.token);
      if (sameName !== undefined) ctx.addIssue({ code: 'custom', message: `entry ${position}: the name ${parsed.name} is used twice` });
      else if (sameToken !== undefined) ctx.addIssue({ code: 'custom', message: `entry ${position} (${parsed.name}): the same token as ${sameToken.name}` });
      else tokens.push(parsed);
    });
    return tokens;
  });
}

/** A request rate: `20/s`, `600/m` or `10000/h`; `off` (or `0`) turns limiting off. */
export function rate() {
  return z.union([z.string(), z.number()]).transform((value, ctx) => {
    const text = String(value).trim().toLowerCase();
    if (text === 'off' || text === '0') return null;
    const match = /^(\d+)\s*\/\s*(s|sec|m|min|h|hour)$/.exec(text);
    const count = match === null ? 0 : Number(match[1]);
    if (match === null || count < 1) {
      ctx.addIssue({ code: 'custom', message: `must look like 20/s, 600/m or 10000/h, or be off (got ${JSON.stringify(value)})` });
      return z.NEVER;
    }
    const unit = match[2] ?? 's';
    const perMs = unit.startsWith('s') ? 1000 : unit.startsWith('m') ? 60_000 : 3_600_000;
    return { count, perMs };
  });
}
