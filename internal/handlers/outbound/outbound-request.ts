import type { IncomingHttpHeaders } from 'node:http';
import { type Dispatcher, request } from 'undici';
import { OutboundError, OutboundNetworkError, RedirectError } from './errors.js';
import type { OutboundPolicy } from './outbound-policy.js';

/** Default for {@link OutboundRequestOptions.maxRedirects}. */
export const DEFAULT_MAX_REDIRECTS = 5;
/** Default for {@link OutboundRequestOptions.maxBodyBytes}: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1_048_576;

export interface OutboundRequestOptions {
  /** An absolute http or https URL. */
  url: string | URL;
  /** Default GET. */
  method?: string;
  /** Header names are matched case-insensitively. */
  headers?: Readonly<Record<string, string>>;
  body?: string | Uint8Array;
  /** Aborting it stops the request; its reason is rethrown unchanged. Carry the request timeout in it too. */
  signal?: AbortSignal;
  /** Redirects followed before giving up with a {@link RedirectError}. Default 5; 0 returns the redirect as is. */
  maxRedirects?: number;
  /** Bytes of the final body kept; reading stops past them and `truncated` is set. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Decides which addresses may be connected to; its dispatcher carries every hop. */
  policy: OutboundPolicy;
  /**
   * A dispatcher from `policy.createDispatcher()` to carry the hops instead of the shared one, or a choice per hop
   * (by its URL) between such a dispatcher and `policy.dispatcher`.
   */
  dispatcher?: Dispatcher | ((url: URL) => Dispatcher);
}

export interface OutboundResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** At most `maxBodyBytes` bytes of the final response's body. */
  body: Buffer;
  /** `body.length`: the bytes read and kept. */
  bytes: number;
  /** The body was longer than `maxBodyBytes`; the rest was not read. */
  truncated: boolean;
  /** The URL of the response returned, after redirects. */
  finalUrl: string;
  /** How many redirects were followed. */
  redirects: number;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Headers that describe a request body; dropped when a redirect turns the request into a bodiless GET. */
const BODY_HEADERS = ['content-type', 'content-encoding', 'content-language', 'content-location'];
/** Credentials meant for the origin they were written for; dropped when a redirect leaves that origin. */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie'];

/**
 * Sends one HTTP request through the outbound policy and follows redirects by hand.
 *
 * Redirects are followed here rather than by undici (whose v7 `request` follows none unless the redirect
 * interceptor is composed, which we do not) so that:
 * - every hop is a fresh request through the guarded agent, so each new host's resolved address is checked;
 * - a loop is named as a loop, with the chain, instead of ending as "too many redirects";
 * - the method and header rewriting is ours and documented:
 *   - 303, and 301/302 after a POST, turn into a GET without a body, as `fetch` does (HEAD stays HEAD);
 *   - 307/308 repeat the method and body;
 *   - leaving the origin drops `Authorization`, `Proxy-Authorization` and `Cookie`, so a redirect cannot carry a
 *     task's credentials to another site (`fetch` drops `Authorization`; the other two are ours to drop since users
 *     write them by hand in a task's headers).
 *
 * A redirect without a `Location` is returned as the final response, as `fetch` does.
 *
 * @throws {DeniedAddressError} a hop's address is denied; nothing was sent to it.
 * @throws {RedirectError} a loop (the same method and URL twice), more than `maxRedirects` hops, or a `Location`
 *   that is unparseable or not http/https.
 * @throws {OutboundNetworkError} the connection failed or broke off.
 * @throws the reason of `signal`, unchanged, when it aborts.
 */
export async function outboundRequest(options: OutboundRequestOptions): Promise<OutboundResponse> {
  const { policy, signal } = options;
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  let url = toHttpUrl(options.url);
  let method = (options.method ?? 'GET').toUpperCase();
  let body = options.body;
  const headers = lowerCaseHeaders(options.headers ?? {});

  // The method is part of the key: POST /form → 303 → GET /form (post/redirect/get) revisits a URL legitimately.
  const visited = new Set<string>([visitKey(method, url)]);
  const chain = [withoutHash(url)];
  signal?.throwIfAborted();

  const dispatcherFor = (hop: URL): Dispatcher => {
    const chosen = options.dispatcher;
    return chosen === undefined ? policy.dispatcher : typeof chosen === 'function' ? chosen(hop) : chosen;
  };
  for (let redirects = 0; ; redirects++) {
    const response = await send(url, { dispatcher: dispatcherFor(url), method, headers, body, signal });
    const location = response.headers.location;
    if (!REDIRECT_STATUSES.has(response.statusCode) || location === undefined || maxRedirects === 0) {
      const read = await readCapped(response.body, maxBodyBytes, signal);
      return {
        status: response.statusCode,
        headers: response.headers,
        ...read,
        finalUrl: withoutHash(url),
        redirects,
      };
    }
    // Drain (or drop) the redirect's own body so that its connection can be reused for the next hop.
    await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);

    const next = resolveLocation(Array.isArray(location) ? location[0] : location, url, chain);
    if ((response.statusCode === 303 && method !== 'GET' && method !== 'HEAD') || (response.statusCode <= 302 && method === 'POST')) {
      method = 'GET';
      body = undefined;
      for (const name of BODY_HEADERS) delete headers[name];
    }
    if (next.origin !== url.origin) {
      for (const name of CREDENTIAL_HEADERS) delete headers[name];
    }
    chain.push(withoutHash(next));
    const key = visitKey(method, next);
    if (visited.has(key)) {
      throw new RedirectError('redirect_loop', `redirect loop: ${chain.join(' → ')}`, chain);
    }
    if (redirects + 1 > maxRedirects) {
      throw new RedirectError(
        'too_many_redirects',
        `more than ${maxRedirects} redirect${maxRedirects === 1 ? '' : 's'}: ${chain.join(' → ')}`,
        chain,
      );
    }
    visited.add(key);
    url = next;
  }
}

type Sent = Awaited<ReturnType<typeof request>>;

async function send(
  url: URL,
  init: {
    dispatcher: Dispatcher;
    method: string;
    headers: Record<string, string>;
    body: string | Uint8Array | undefined;
    signal: AbortSignal | undefined;
  },
): Promise<Sent> {
  try {
    return await request(url, {
      dispatcher: init.dispatcher,
      method: init.method as Dispatcher.HttpMethod,
      headers: init.headers,
      body: init.body ?? null,
      signal: init.signal ?? null,
    });
  } catch (err) {
    throw classify(err, init.signal);
  }
}

/**
 * Reads at most `max` bytes of `body`. Past that it stops reading and destroys the stream, so a huge (or endless)
 * body costs at most `max` bytes of memory and the connection is closed instead of drained.
 */
async function readCapped(
  body: Sent['body'],
  max: number,
  signal: AbortSignal | undefined,
): Promise<{ body: Buffer; bytes: number; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let truncated = false;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const room = max - bytes;
      if (chunk.length > room) {
        if (room > 0) chunks.push(chunk.subarray(0, room));
        bytes += Math.max(0, room);
        truncated = true;
        break;
      }
      chunks.push(chunk);
      bytes += chunk.length;
    }
  } catch (err) {
    throw classify(err, signal);
  } finally {
    // Leaving the loop early already destroys the stream; this also covers an error thrown mid-read.
    if (!body.destroyed) body.destroy();
  }
  return { body: Buffer.concat(chunks, bytes), bytes, truncated };
}

/** Maps what undici throws to this layer's errors: the caller's abort reason, ours unchanged, or a network error. */
function classify(err: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason ?? err;
  if (err instanceof OutboundError) return err;
  const code = errorCode(err);
  // A request undici refuses to build (a bad header, say) is our bug or a bad payload, not the target being down.
  if (code === 'UND_ERR_INVALID_ARG') return err;
  return new OutboundNetworkError(describeNetworkError(err, code), code, { cause: err });
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const own = (err as { code?: unknown }).code;
  if (typeof own === 'string') return own;
  // undici wraps some system errors; the useful code (ECONNRESET) then sits on the cause.
  const cause = (err as { cause?: unknown }).cause;
  if (typeof cause === 'object' && cause !== null && typeof (cause as { code?: unknown }).code === 'string') {
    return (cause as { code: string }).code;
  }
  return undefined;
}

function describeNetworkError(err: unknown, code: string | undefined): string {
  const message = err instanceof Error ? err.message : String(err);
  if (code === undefined || message.includes(code)) return message || code || 'unknown network error';
  return `${code}: ${message}`;
}

function toHttpUrl(value: string | URL): URL {
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`outbound requests must use http or https, not ${url.protocol}`);
  }
  return url;
}

function resolveLocation(location: string | undefined, base: URL, chain: string[]): URL {
  let next: URL;
  try {
    next = new URL(location ?? '', base);
  } catch {
    throw new RedirectError('bad_redirect', `redirect from ${withoutHash(base)} to an invalid Location ${JSON.stringify(location)}`, chain);
  }
  if (next.protocol !== 'http:' && next.protocol !== 'https:') {
    throw new RedirectError(
      'bad_redirect',
      `redirect from ${withoutHash(base)} to unsupported scheme ${next.protocol} (only http and https are followed)`,
      [...chain, next.href],
    );
  }
  return next;
}

function visitKey(method: string, url: URL): string {
  return `${method} ${withoutHash(url)}`;
}

/** The fragment never reaches the server, so two URLs that differ only there are the same request. */
function withoutHash(url: URL): string {
  if (url.hash === '') return url.href;
  const copy = new URL(url.href);
  copy.hash = '';
  return copy.href;
}

function lowerCaseHeaders(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  return out;
}
