import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../support/services.js';

/**
 * Browser tests of the dashboard: a real API process (`cmd/api/main.ts`) on a free port, a real headless Chromium
 * driven by playwright-core, and pages read the way a person reads them (roles and visible text).
 */

export const ROOT = resolve(import.meta.dirname, '../../..');
const SCREENSHOTS = join(ROOT, 'test/browser/screenshots');

/** The Chromium to drive: APP_BROWSER_PATH, CHROMIUM_PATH, or Debian's. Undefined when there is none. */
export function findChromium(): string | undefined {
  const candidates = [process.env.APP_BROWSER_PATH, process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((path): path is string => path !== undefined && path !== '' && existsSync(path));
}

/**
 * `describe` when a Chromium is found; otherwise a loud warning and one skipped test whose name says why, so that
 * a run without a browser never passes silently.
 */
export function describeInBrowser(name: string, body: (chromiumPath: string) => void): void {
  const path = findChromium();
  if (path === undefined) {
    const why = 'browser tests skipped: no Chromium found (install chromium, or set APP_BROWSER_PATH or CHROMIUM_PATH)';
    console.warn(`\n${'!'.repeat(100)}\n!! ${name}: ${why}\n${'!'.repeat(100)}\n`);
    describe(name, () => {
      it.skip(why, () => undefined);
    });
    return;
  }
  describe(name, () => body(path));
}

/**
 * One headless Chromium per test file, with flags for a quick start that phones nowhere, and a fresh profile that
 * is removed on close.
 */
export async function launchBrowser(executablePath: string): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'vigil-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** A page that records everything written to the console's error log, and uncaught exceptions. */
export interface WatchedPage {
  page: Page;
  errors: string[];
  /**
   * Fails the test when the page logged an error. Chromium logs "Failed to load resource … status of 400" for an
   * answer the test provoked on purpose (a bad URL in the form); such statuses are named in `expectedStatuses`.
   */
  assertNoConsoleErrors(expectedStatuses?: readonly number[]): void;
}

export async function watchedPage(context: BrowserContext): Promise<WatchedPage> {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  return {
    page,
    errors,
    assertNoConsoleErrors(expectedStatuses = []) {
      const unexpected = errors.filter(
        (text) => !expectedStatuses.some((status) => text.startsWith(`Failed to load resource: the server responded with a status of ${status} `)),
      );
      expect(unexpected, 'console errors').toEqual([]);
    },
  };
}

/** Saves a screenshot under test/browser/screenshots/ (ignored by git) for a person to look at after a run. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

// --- the dashboard build --------------------------------------------------------------------------------------

const WEB_DIR = join(ROOT, 'web');
const BUILT_INDEX = join(ROOT, 'dist/web/index.html');
const LOCK = join(ROOT, 'dist/.web-build.lock');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Builds the dashboard into dist/web unless a build newer than every file under web/ is there. Browser test files
 * run in parallel, so one builds (holding a lock folder) while the others wait for it.
 */
export async function ensureDashboardBuilt(): Promise<void> {
  const fresh = () => existsSync(BUILT_INDEX) && statSync(BUILT_INDEX).mtimeMs >= newestSource(WEB_DIR);
  if (fresh()) return;
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  await waitFor(
    () => {
      try {
        mkdirSync(LOCK);
        return true;
      } catch {
        // A lock left by a killed run is taken over after two minutes.
        if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > 120_000) rmSync(LOCK, { recursive: true, force: true });
        return false;
      }
    },
    { timeoutMs: 180_000, intervalMs: 200, message: 'the dashboard build lock' },
  );
  try {
    if (fresh()) return;
    const vite = join(ROOT, 'node_modules/vite/bin/vite.js');
    const result = spawnSync(process.execPath, [vite, 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], { cwd: ROOT, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`the dashboard build failed:\n${result.stdout}\n${result.stderr}`);
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

// --- the API process ------------------------------------------------------------------------------------------

export interface ApiProcess {
  url: string;
  child: ChildProcess;
  lines: string[];
  stop(): Promise<void>;
}

/**
 * Starts `cmd/api/main.ts` (the real entry point, through tsx) with the given environment on a free port, with
 * short ticks so that `every: 1` schedules show their runs quickly. Resolves when it listens.
 */
export async function startApi(env: Record<string, string>): Promise<ApiProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cmd/api/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      APP_HTTP_ADDR: '127.0.0.1:0',
      APP_LOG_LEVEL: 'info',
      APP_SCHEDULE_INTERVAL: '200ms',
      APP_RETRY_BASE_DELAY: '100ms',
      APP_RETRY_MAX_DELAY: '300ms',
      APP_SHUTDOWN_TIMEOUT: '2s',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      lines.push(...parts);
      if (process.env.VIGIL_TEST_LOG !== undefined) for (const line of parts) process.stderr.write(`[api ${child.pid}] ${line}\n`);
    });
  }
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const listening = await waitFor(() => lines.find((line) => line.includes('"msg":"api listening"')), {
    timeoutMs: 45_000,
    message: `the API to listen; last lines:\n${lines.slice(-10).join('\n')}`,
  });
  const port = /"addr":"[^"]*:(\d+)"/.exec(listening)?.[1];
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    lines,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A task created straight through the API, for tests whose subject is not the create form. */
export async function createTaskViaApi(url: string, body: Record<string, unknown>, token?: string): Promise<{ id: number }> {
  const res = await fetch(`${url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { id: number };
}

// --- a target to monitor ----------------------------------------------------------------------------------------

/** A local HTTP server a check can watch; the test decides what it answers and how slowly. */
export interface Target {
  url: string;
  /** Status of the next answers. */
  status: number;
  /** Delay of the next answers, ms. */
  delayMs: number;
  close(): Promise<void>;
}

export async function startTarget(): Promise<Target> {
  const target = { status: 200, delayMs: 0 } as Target;
  const server: Server = createServer((_req, res) => {
    const { status, delayMs } = target;
    setTimeout(() => {
      res.statusCode = status;
      res.end(status < 400 ? 'ok' : 'broken');
    }, delayMs);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  target.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
  target.close = () =>
    new Promise<void>((done) => {
      server.closeAllConnections();
      server.close(() => done());
    });
  return target;
}
