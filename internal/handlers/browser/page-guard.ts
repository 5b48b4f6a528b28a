import { performance } from 'node:perf_hooks';
import type { BrowserContext, Page, Route } from 'playwright-core';
import type { Dispatcher } from 'undici';
import { DeniedAddressError, OutboundError } from '../outbound/errors.js';
import type { OutboundPolicy } from '../outbound/outbound-policy.js';
import { type OutboundResponse, outboundRequest } from '../outbound/outbound-request.js';

/** Requests one page may make; past this every request is refused (a page that fetches in a loop). */
export const MAX_PAGE_REQUESTS = 500;
/** Blocked requests listed in a run's output; the count covers all of them. */
export const MAX_REPORTED_BLOCKS = 20;

/** Request headers Chromium sends that the outbound client must not copy: the connection is ours, not the page's. */
const DROPPED_REQUEST_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'proxy-authorization',
  'proxy-connection',
  // Asked for by Chromium, but the outbound client does not decompress, and fulfilled bodies must be plain.
  'accept-encoding',
]);
/** Response headers that describe the bytes on the wire, which are not what is fulfilled. */
const DROPPED_RESPONSE_HEADERS = new Set(['content-encoding', 'content-length', 'transfer-encoding', 'connection', 'keep-alive']);

/** A request the page made that was refused. */
export interface BlockedRequest {
  url: string;
  reason: string;
}

/** The page's own document, as fetched for it. */
export interface MainDocument {
  response: OutboundResponse;
  /** From sending the request to the end of its body, redirects included. */
  latencyMs: number;
}

export interface PageGuardOptions {
  page: Page;
  policy: OutboundPolicy;
  /** This run's dispatcher (its own pool; it reads the certificate and trusts `tls.ca`). */
  dispatcher: Dispatcher;
  signal: AbortSignal;
  /** Bytes kept of each response; longer ones are cut. */
  maxBodyBytes: number;
  /** The task's headers, sent with the page's own request only (not to third parties the page loads). */
  documentHeaders?: Readonly<Record<string, string>> | undefined;
}

/**
 * Makes every request of a page through Vigil's own outbound client, so that `APP_HTTP_DENY_CIDRS` holds for all of
 * them exactly as for the `http` type: the guarded agent resolves each host, refuses it if any address is denied,
 * and connects only to the addresses it checked, so a second DNS answer (rebinding) cannot slip past the check.
 * Chromium itself never opens a connection for a request:
 *
 * - every http(s) request of every frame and worker is routed here and fulfilled with our response, or aborted;
 * - other schemes (ftp:, file:, chrome:) are aborted; data: and blob: never reach the network;
 * - WebSockets are closed before they connect: the outbound client cannot carry them, so they cannot be checked;
 * - service workers are blocked (their requests would not be routed);
 * - anything Chromium opens without a request (preconnect, WebRTC) meets the browser pool's sink proxy.
 *
 * Redirects are followed by the outbound client, each hop checked, and the final response is fulfilled for the
 * URL the page asked for (the page's `location` stays the requested URL; items are resolved against the final one).
 */
export class PageGuard {
  /** Requests the page made, fulfilled or not. */
  requests = 0;
  /** Requests refused, the first {@link MAX_REPORTED_BLOCKS}. */
  readonly blocked: BlockedRequest[] = [];
  blockedCount = 0;
  /** The page's own document, once fetched. */
  main: MainDocument | undefined;
  /** Why the page's own document could not be fetched, when it could not. */
  mainError: unknown;
  private mainClaimed = false;

  constructor(private readonly options: PageGuardOptions) {}

  /** Installs the routes. Call before the page navigates. */
  async attach(context: BrowserContext): Promise<void> {
    await context.route('**/*', (route) => this.handle(route));
    await context.routeWebSocket(/.*/, (ws) => {
      this.block(ws.url(), 'WebSockets are not allowed: their address cannot be checked');
      void ws.close({ code: 1008, reason: 'blocked by vigil' }).catch(() => undefined);
    });
  }

  private async handle(route: Route): Promise<void> {
    const { options } = this;
    const request = route.request();
    const url = request.url();
    this.requests++;
    const isMain = !this.mainClaimed && request.isNavigationRequest() && request.frame() === options.page.mainFrame();
    if (isMain) this.mainClaimed = true;

    if (!/^https?:/i.test(url)) return this.refuse(route, url, `scheme ${url.split(':')[0] ?? ''} is not fetched`);
    if (this.requests > MAX_PAGE_REQUESTS) return this.refuse(route, url, `more than ${MAX_PAGE_REQUESTS} requests`);

    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(await request.allHeaders())) {
      if (name.startsWith(':') || DROPPED_REQUEST_HEADERS.has(name)) continue;
      headers[name] = value;
    }
    if (isMain && options.documentHeaders !== undefined) {
      for (const [name, value] of Object.entries(options.documentHeaders)) headers[name.toLowerCase()] = value;
    }
    const body = request.postDataBuffer();
    const started = performance.now();
    let response: OutboundResponse;
    try {
      response = await outboundRequest({
        url,
        method: request.method(),
        headers,
        ...(body === null ? {} : { body }),
        signal: options.signal,
        maxBodyBytes: options.maxBodyBytes,
        policy: options.policy,
        dispatcher: options.dispatcher,
      });
    } catch (err) {
      if (isMain) this.mainError = err;
      if (err instanceof DeniedAddressError) return this.refuse(route, url, err.message);
      // A redirect the client will not follow, or an unreachable host: the page sees a failed request, as it would.
      const reason = err instanceof OutboundError ? 'failed' : 'aborted';
      await route.abort(reason).catch(() => undefined);
      return;
    }
    if (isMain) this.main = { response, latencyMs: Math.round(performance.now() - started) };
    await route
      .fulfill({ status: response.status, headers: fulfilledHeaders(response.headers), body: response.body })
      .catch(() => undefined);
  }

  private async refuse(route: Route, url: string, reason: string): Promise<void> {
    this.block(url, reason);
    await route.abort('blockedbyclient').catch(() => undefined);
  }

  private block(url: string, reason: string): void {
    this.blockedCount++;
    if (this.blocked.length < MAX_REPORTED_BLOCKS) this.blocked.push({ url: url.length > 500 ? `${url.slice(0, 499)}…` : url, reason });
  }
}

/** Response headers as Playwright takes them: one string each; repeated ones (set-cookie) joined by newlines. */
function fulfilledHeaders(headers: OutboundResponse['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || DROPPED_RESPONSE_HEADERS.has(name)) continue;
    out[name] = Array.isArray(value) ? value.join(name === 'set-cookie' ? '\n' : ', ') : value;
  }
  return out;
}
