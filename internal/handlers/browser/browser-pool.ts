import { createServer, type Server, type Socket } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Logger } from 'pino';

/**
 * Chromium's flags: headless, no sandbox (Vigil often runs as root in a container, where Chromium's sandbox cannot
 * start), and none of the background traffic a browser makes on its own (updates, sync, field trials), which would
 * otherwise leave the machine outside the page's interception. Playwright gives each launch a fresh, temporary
 * user-data-dir and deletes it on close.
 */
export const CHROMIUM_FLAGS: readonly string[] = Object.freeze([
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  // WebRTC sends UDP straight from the network stack, where no route sees it; only proxied UDP is allowed, and
  // the proxy below goes nowhere.
  '--force-webrtc-ip-handling-policy=disable_non_proxied_udp',
]);

export interface BrowserPoolOptions {
  /** The Chromium binary (`APP_BROWSER_PATH`, or the one found in the usual places). */
  executablePath: string;
  /** Pages rendered at once (`APP_BROWSER_CONCURRENCY`); more runs wait for a turn. */
  concurrency: number;
  logger: Logger;
  /** How long a launch may take, in ms. Default 30,000. */
  launchTimeoutMs?: number;
}

/**
 * One Chromium for the process, shared by every `browser` run, each in a context of its own (no cookies, cache or
 * storage shared between runs). The browser starts on first use; if it dies (crash, OOM killer, `kill -9`), the
 * next run starts a new one. {@link close} shuts it; a later run would start another, so call it after the last run.
 *
 * Every request a page makes is meant to be intercepted by the page's routes (see `page-guard.ts`). As a backstop
 * for what routes never see (a `<link rel=preconnect>`, anything Chromium opens by itself), the browser's proxy is
 * a local sink that drops every connection, and loopback is not exempt from it: nothing the routes did not fulfil
 * leaves the machine, or reaches a local address.
 */
export class BrowserPool {
  private browser: Browser | undefined;
  private launching: Promise<Browser> | undefined;
  private sink: { server: Server; port: number } | undefined;
  private readonly slots: Semaphore;
  /** Connections a page made around its routes; each one was dropped. */
  private bypassAttempts = 0;

  constructor(private readonly options: BrowserPoolOptions) {
    this.slots = new Semaphore(options.concurrency);
  }

  /** Connections that reached the sink proxy instead of a route (dropped). For tests and diagnostics. */
  get droppedConnections(): number {
    return this.bypassAttempts;
  }

  /** Pages rendering now. */
  get active(): number {
    return this.slots.inUse;
  }

  /**
   * Runs `fn` with a fresh context and page once a slot is free, and closes the context afterwards. When `signal`
   * aborts (the task's timeout, shutdown), the context is closed at once, which makes whatever the page was doing
   * reject, and the signal's reason is thrown.
   */
  async withPage<T>(signal: AbortSignal, fn: (context: BrowserContext, page: Page) => Promise<T>): Promise<T> {
    await this.slots.acquire(signal);
    let context: BrowserContext | undefined;
    const onAbort = () => void context?.close().catch(() => undefined);
    try {
      context = await this.newContext();
      signal.throwIfAborted();
      signal.addEventListener('abort', onAbort, { once: true });
      const page = await context.newPage();
      const result = await fn(context, page);
      signal.throwIfAborted();
      return result;
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
      await context?.close().catch(() => undefined);
      this.slots.release();
    }
  }

  /**
   * A fresh context. A browser that died a moment ago can still look connected until its pipe's end is noticed;
   * its context then fails, and one new browser is started for this run instead of failing it.
   */
  private async newContext(): Promise<BrowserContext> {
    const browser = await this.browserInstance();
    try {
      return await browser.newContext({ serviceWorkers: 'block', acceptDownloads: false });
    } catch (err) {
      if (browser.isConnected() && !/has been closed|disconnected/i.test(err instanceof Error ? err.message : '')) throw err;
      if (this.browser === browser) this.browser = undefined;
      this.options.logger.warn('chromium was gone when a page was opened; starting a new one');
      const fresh = await this.browserInstance();
      return fresh.newContext({ serviceWorkers: 'block', acceptDownloads: false });
    }
  }

  /** Closes the browser and the sink. Idempotent; waits for a launch in progress. */
  async close(): Promise<void> {
    const launching = this.launching;
    this.launching = undefined;
    const browser = this.browser ?? (await launching?.catch(() => undefined));
    this.browser = undefined;
    await browser?.close().catch(() => undefined);
    const sink = this.sink;
    this.sink = undefined;
    if (sink !== undefined) await new Promise<void>((resolve) => sink.server.close(() => resolve()));
  }

  /** The running browser, or a new one when there is none or it died. Concurrent callers share one launch. */
  private async browserInstance(): Promise<Browser> {
    if (this.browser?.isConnected() === true) return this.browser;
    this.launching ??= this.launch().finally(() => {
      this.launching = undefined;
    });
    return this.launching;
  }

  private async launch(): Promise<Browser> {
    const { logger } = this.options;
    const sink = await this.sinkProxy();
    // Loaded on first use: processes that never render a page do not pay for loading Playwright.
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: this.options.executablePath,
      headless: true,
      args: [...CHROMIUM_FLAGS],
      proxy: { server: `http://127.0.0.1:${sink.port}`, bypass: '<-loopback>' },
      timeout: this.options.launchTimeoutMs ?? 30_000,
      // The process's own shutdown closes the browser (registry.close); Playwright must not kill it on a signal
      // while runs are still finishing.
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    browser.on('disconnected', () => {
      if (this.browser !== browser) return;
      this.browser = undefined;
      logger.warn('chromium exited; the next browser run starts a new one');
    });
    this.browser = browser;
    logger.info({ version: browser.version(), executablePath: this.options.executablePath }, 'chromium started');
    return browser;
  }

  /** A local TCP server that drops every connection: the browser's proxy. */
  private async sinkProxy(): Promise<{ port: number }> {
    if (this.sink !== undefined) return this.sink;
    const server = createServer((socket: Socket) => {
      this.bypassAttempts++;
      this.options.logger.warn('a page opened a connection around its request routes; dropped');
      socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    server.unref();
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    this.sink = { server, port };
    return this.sink;
  }
}

/** Counts pages in flight; waiters are served in order and leave the queue when their signal aborts. */
class Semaphore {
  inUse = 0;
  private readonly waiters: { resolve: () => void; reject: (err: unknown) => void; signal: AbortSignal; onAbort: () => void }[] = [];

  constructor(private readonly size: number) {}

  acquire(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.inUse < this.size) {
      this.inUse++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = this.waiters.indexOf(waiter);
          if (index !== -1) this.waiters.splice(index, 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  release(): void {
    const next = this.waiters.shift();
    if (next === undefined) {
      this.inUse--;
      return;
    }
    // The slot passes straight to the next waiter; inUse stays the same.
    next.signal.removeEventListener('abort', next.onAbort);
    next.resolve();
  }
}
