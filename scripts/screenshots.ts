/**
 * Makes the README's dashboard screenshots (`docs/dashboard-overview.png`, `docs/dashboard-task.png`): starts Vigil
 * in this process on a throwaway SQLite file with a few monitors of local HTTP targets, backfills an hour of run
 * history so that the charts have something to show, and photographs the pages in headless Chromium at laptop
 * width. Needs the dashboard built (`npm run build:web`) and a Chromium (APP_BROWSER_PATH, CHROMIUM_PATH or
 * /usr/bin/chromium).
 *
 *   npm run screenshots            the README's two pictures
 *   npm run screenshots -- --all   also dark and phone-width views, under test/browser/screenshots/ (not committed)
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { App } from '../internal/app/index.js';
import { loadConfig } from '../internal/config/index.js';
import { createLogger } from '../internal/platform/logger.js';
import { StoreMigrator } from '../internal/store/index.js';

const ROOT = resolve(import.meta.dirname, '..');
const BROWSER = process.env.APP_BROWSER_PATH ?? process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const MINUTE = 60_000;

/** A target that answers like a small shop's JSON search, with a new item now and then. */
function startTargets(): Promise<{ base: string; server: Server }> {
  let calls = 0;
  const server = createServer((req, res) => {
    calls += 1;
    if (req.url === '/hook') {
      res.end('received');
      return;
    }
    if (req.url === '/down') {
      res.statusCode = 503;
      res.end('maintenance');
      return;
    }
    if (req.url?.startsWith('/feed')) {
      const items = Array.from({ length: 3 + Math.floor(calls / 4) }, (_, i) => ({ id: `lamp-${i}`, title: `Desk lamp no. ${i + 1}` }));
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ data: { items } }));
      return;
    }
    setTimeout(() => res.end('ok'), 20 + Math.random() * 60);
  });
  return new Promise((done) =>
    server.listen(0, '127.0.0.1', () => done({ base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })),
  );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-shots-'));
  const targets = await startTargets();
  const config = loadConfig({ env: { SQLITE_PATH: join(dir, 'vigil.db'), APP_HTTP_ADDR: '127.0.0.1:0', APP_SCHEDULE_INTERVAL: '250ms' } });
  const app = new App({ role: 'api', config, logger: createLogger({ level: 'warn' }) });
  await new StoreMigrator(app.store).up();
  await app.start();
  const url = `http://127.0.0.1:${app.port}`;
  const post = async (body: Record<string, unknown>) => {
    const res = await fetch(`${url}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
    return (await res.json()) as { id: number };
  };
  try {
    const feed = await post({ name: 'shop feed: desk lamps', type: 'http', schedule: { every: 3 }, payload: { url: `${targets.base}/feed`, items: { path: '/data/items', id: 'id' } }, notify: { webhook_url: `${targets.base}/hook`, on: ['new_items', 'down', 'up'] } });
    await post({ name: 'checkout API health', type: 'http', schedule: { every: 2 }, payload: { url: `${targets.base}/health`, match: 'ok' } });
    await post({ name: 'status page', type: 'http', schedule: { every: 5 }, payload: { url: `${targets.base}/down` } });
    await post({ name: 'nightly invoice sync', type: 'noop', schedule: { cron: '0 2 * * *', tz: 'Europe/Paris' } });
    await post({ name: 'legacy admin login', type: 'http', schedule: { every: 60 }, status: 'paused', payload: { url: `${targets.base}/admin` } });
    await backfillHistory(app, feed.id);

    const browser = await chromium.launch({ executablePath: BROWSER, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
      await page.goto(`${url}/ui/`);
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
      // Let a few live refreshes land: the feed finds new items, the status page turns down.
      await page.getByRole('link', { name: 'status page' }).waitFor({ timeout: 30_000 });
      await page.waitForTimeout(2500);
      await page.screenshot({ path: join(ROOT, 'docs/dashboard-overview.png'), fullPage: true });
      await page.goto(`${url}/ui/tasks/${feed.id}`);
      await page.getByText('New items found').waitFor();
      await page.getByText(/new in run #/).first().waitFor({ timeout: 30_000 });
      await page.getByText(/attempt 1: HTTP 200/).first().waitFor({ timeout: 30_000 });
      await page.waitForTimeout(1500);
      await page.screenshot({ path: join(ROOT, 'docs/dashboard-task.png'), fullPage: true });
      process.stdout.write('wrote docs/dashboard-overview.png and docs/dashboard-task.png\n');
      if (process.argv.includes('--all')) await extraViews(browser, url, feed.id);
    } finally {
      await browser.close();
    }
  } finally {
    await app.stop();
    targets.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The same pages in the dark theme and at a phone's width, for a person to check the layout by eye. */
async function extraViews(browser: import('playwright-core').Browser, url: string, taskId: number): Promise<void> {
  const out = join(ROOT, 'test/browser/screenshots');
  mkdirSync(out, { recursive: true });
  const views = [
    { name: 'dark', viewport: { width: 1280, height: 900 }, colorScheme: 'dark' as const },
    { name: 'phone', viewport: { width: 390, height: 844 }, colorScheme: 'light' as const },
  ];
  for (const view of views) {
    const page = await browser.newPage({ viewport: view.viewport, colorScheme: view.colorScheme });
    for (const [path, file] of [['/ui/', 'overview'], [`/ui/tasks/${taskId}`, 'task'], ['/ui/tasks', 'tasks'], ['/ui/queue', 'queue'], ['/ui/tasks/new', 'create']] as const) {
      await page.goto(`${url}${path}`);
      await page.getByRole('heading', { level: 1 }).waitFor();
      await page.waitForTimeout(800);
      await page.screenshot({ path: join(out, `${view.name}-${file}.png`), fullPage: true });
    }
    await page.close();
  }
  process.stdout.write(`wrote dark and phone views to ${out}\n`);
}

/**
 * An hour of plausible history before now, so that the per-minute charts are not one dot: a run of each monitor
 * every 30 s, a few slow minutes, a short outage of the checkout API.
 */
async function backfillHistory(app: App, feedId: number): Promise<void> {
  const tasks = await app.store.db.selectFrom('tasks').select(['id', 'name']).where('status', '=', 'running').execute();
  const now = Date.now();
  const rows = [];
  for (const task of tasks) {
    for (let t = now - 60 * MINUTE; t < now - MINUTE; t += 30_000) {
      const minute = Math.floor((now - t) / MINUTE);
      const outage = task.name.startsWith('checkout') && minute >= 22 && minute <= 25;
      const slow = minute % 17 === 3;
      const late = Math.round(2 + Math.random() * 12 + (slow ? 180 + Math.random() * 400 : 0));
      const latency = Math.round(35 + Math.random() * 40 + (slow ? 250 : 0) + (task.id === feedId ? 60 : 0));
      const slot = new Date(t);
      const started = new Date(t + late);
      rows.push({
        task_id: Number(task.id),
        slot,
        attempt: 1,
        source: 'periodic' as const,
        status: outage ? ('failed' as const) : ('succeeded' as const),
        started_at: started,
        finished_at: new Date(started.getTime() + latency + 3),
        duration_ms: latency + 3,
        worker: 'backfill',
        output: outage ? null : JSON.stringify({ up: true, status_code: 200, latency_ms: latency }),
        error: outage ? 'connect ECONNREFUSED' : null,
      });
    }
  }
  for (let i = 0; i < rows.length; i += 200) await app.store.db.insertInto('task_runs').values(rows.slice(i, i + 200)).execute();
}

await main();
