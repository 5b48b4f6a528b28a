import { existsSync } from 'node:fs';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CheckMemory } from '../checks/check-memory.js';
import { DeniedAddressError } from '../outbound/errors.js';
import { OutboundPolicy } from '../outbound/outbound-policy.js';
import { type LocalServer, makeCertificate, reply, startServer } from '../outbound/test-support.js';
import { runHttpCheck } from '../http/http-check.js';
import { httpPayloadSchema } from '../http/payload-schema.js';
import { type BrowserCheckOutput, runBrowserCheck } from './browser-check.js';
import { BrowserPool } from './browser-pool.js';
import { type BrowserPayloadInput, browserPayloadSchema } from './payload-schema.js';
import { chromiumBrowserPids, chromiumForTests } from './test-chromium.js';

/**
 * The `browser` type in a real headless Chromium against local pages. Skipped, loudly, when no Chromium is found.
 */
const chromium = chromiumForTests();

if (!chromium.found) {
  it.skip(`browser tests need Chromium: ${chromium.reason}`, () => undefined);
} else {
  const executablePath = chromium.path;
  const logger = pino({ level: 'silent' });
  const open = new OutboundPolicy([]);
  const pool = new BrowserPool({ executablePath, concurrency: 2, logger });
  const servers: LocalServer[] = [];

  const serve = async (...args: Parameters<typeof startServer>) => {
    const server = await startServer(...args);
    servers.push(server);
    return server;
  };
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await pool.close();
    await open.close();
  });

  const check = (input: BrowserPayloadInput, memory: CheckMemory | null = null, options: { policy?: OutboundPolicy; pool?: BrowserPool } = {}) =>
    runBrowserCheck(browserPayloadSchema.parse(input), {
      signal: new AbortController().signal,
      timeoutMs: 15_000,
      policy: options.policy ?? open,
      pool: options.pool ?? pool,
      memory,
    });

  /** A page whose list is empty in its HTML and filled by a script after the load event. */
  const scriptedListing = (names: string[]) => `<!doctype html><html><body><ul id="list"></ul><script>
    window.addEventListener('load', () => setTimeout(() => {
      for (const [i, name] of ${JSON.stringify(names)}.entries()) {
        const li = document.createElement('li');
        li.className = 'item';
        li.innerHTML = '<a href="/lamps/' + name.toLowerCase().replace(/ /g, '-') + '"><span class="name">' + name + '</span></a>';
        document.getElementById('list').appendChild(li);
      }
      document.body.appendChild(Object.assign(document.createElement('p'), { id: 'ready' }));
    }, 150));
  </script></body></html>`;

  describe('runBrowserCheck', () => {
    it('reads items a script adds after load, waiting for them, and reports the two the page gains with absolute URLs', async () => {
      let names = ['Brass lamp', 'Floor lamp'];
      const server = await serve((_req, res) => reply(res, 200, scriptedListing(names), { 'content-type': 'text/html' }));
      const payload: BrowserPayloadInput = {
        url: `${server.origin}/search`,
        wait_for: { selector: '#ready' },
        items: { selector: 'li.item', id: { selector: 'a', attr: 'href' }, fields: { title: '.name', url: { selector: 'a', attr: 'href' } } },
      };
      const baseline = await check(payload);
      expect(baseline.output).toMatchObject({ up: true, status_code: 200, new_items: { count: 0, first: [] }, events: [] });
      expect(baseline.memory.seen_ids).toEqual([`${server.origin}/lamps/brass-lamp`, `${server.origin}/lamps/floor-lamp`]);

      names = ['Desk lamp', 'Wall lamp', ...names];
      const gained = await check(payload, baseline.memory);
      expect(gained.output.new_items).toEqual({
        count: 2,
        first: [
          { id: `${server.origin}/lamps/desk-lamp`, title: 'Desk lamp', url: `${server.origin}/lamps/desk-lamp` },
          { id: `${server.origin}/lamps/wall-lamp`, title: 'Wall lamp', url: `${server.origin}/lamps/wall-lamp` },
        ],
      });
      expect(gained.output.events).toEqual(['changed', 'new_items']);

      // The http type sees no items at all in the same page: they exist only once the script has run.
      const plain = await runHttpCheck(httpPayloadSchema.parse({ url: payload.url, items: payload.items }), {
        signal: new AbortController().signal,
        timeoutMs: 5_000,
        policy: open,
        memory: null,
      });
      expect(plain.output).toMatchObject({ up: false, reason: 'no_items' });
    });

    it('is down with wait_for_timeout when the selector never appears', async () => {
      const server = await serve((_req, res) => reply(res, 200, '<html><body>nothing here</body></html>', { 'content-type': 'text/html' }));
      const { output } = await check({ url: server.origin, wait_for: { selector: '#never' }, request_timeout_ms: 800 });
      expect(output).toMatchObject({ up: false, reason: 'wait_for_timeout', status_code: 200, events: ['down'] });
    });

    it('checks status, rendered HTML, headers and latency of the page', async () => {
      const server = await serve((_req, res) =>
        reply(res, 503, '<html><body><script>document.body.append("rendered-" + "by-script")</script></body></html>', {
          'content-type': 'text/html',
          'x-region': 'eu',
        }),
      );
      const { output } = await check({ url: server.origin, expect_status: [503], match: 'rendered-by-script', expect_headers: { 'x-region': 'eu' } });
      expect(output).toMatchObject({ up: true, status_code: 503 });
      const mismatch = await check({ url: server.origin, expect_status: [503], expect_headers: { 'x-region': 'us' } });
      expect(mismatch.output).toMatchObject({ up: false, reason: 'header_mismatch' });
    });

    it('keeps every request of the page inside the deny list: the denied server sees nothing at all', async () => {
      // 127.0.0.2 is loopback too, but denied here; rebind.test resolves to it, to show names are checked as well.
      const denied = await serve((_req, res) => reply(res, 200, 'secret'), '127.0.0.2');
      const policy = new OutboundPolicy(['127.0.0.2/32'], {
        resolve: async (host) => (host === 'rebind.test' ? [{ address: '127.0.0.2', family: 4 }] : [{ address: '127.0.0.1', family: 4 }]),
      });
      const secret = `${denied.origin}/secret`;
      const byName = `http://rebind.test:${denied.port}/secret`;
      const page = `<!doctype html><html><head><link rel="preconnect" href="${denied.origin}"></head><body>
        <img src="${denied.origin}/pixel.gif">
        <p id="out">pending</p>
        <script>
          const out = document.getElementById('out');
          const results = [];
          const note = (what) => { results.push(what); if (results.length === 3) { out.textContent = results.sort().join(' '); out.id = 'done'; } };
          fetch(${JSON.stringify(secret)}).then((r) => r.text()).then((t) => note('fetch:' + t), () => note('fetch:failed'));
          fetch(${JSON.stringify(byName)}).then((r) => r.text()).then((t) => note('name:' + t), () => note('name:failed'));
          // Whether the socket errors or is closed on it, it never carries a message from the denied server.
          let wsDone = false;
          const wsEnd = (what) => { if (!wsDone) { wsDone = true; note(what); } };
          try {
            const ws = new WebSocket(${JSON.stringify(`ws://127.0.0.2:${denied.port}/`)});
            ws.onmessage = () => wsEnd('ws:message');
            ws.onerror = () => wsEnd('ws:closed');
            ws.onclose = () => wsEnd('ws:closed');
          } catch (e) { wsEnd('ws:closed'); }
        </script></body></html>`;
      const site = await serve((_req, res) => reply(res, 200, page, { 'content-type': 'text/html' }));
      try {
        const { output } = await check({ url: site.origin, wait_for: { selector: '#done' }, match: 'fetch:failed name:failed ws:closed' }, null, { policy });
        expect(output, JSON.stringify(output)).toMatchObject({ up: true });
        expect(output.blocked_requests?.count).toBeGreaterThanOrEqual(4);
        const reasons = (output.blocked_requests?.first ?? []).map((b) => `${new URL(b.url).pathname} ${b.reason}`);
        expect(reasons).toEqual(
          expect.arrayContaining([
            expect.stringMatching(/^\/secret address 127\.0\.0\.2 is denied/),
            expect.stringMatching(/^\/secret address 127\.0\.0\.2 of rebind\.test is denied/),
            expect.stringMatching(/^\/pixel\.gif address 127\.0\.0\.2 is denied/),
            expect.stringMatching(/WebSockets are not allowed/),
          ]),
        );
        expect(denied.requests).toEqual([]);
        expect(denied.connections()).toBe(0);
      } finally {
        await policy.close();
      }
    });

    it('fails the attempt when the page itself is at a denied address', async () => {
      const denied = await serve((_req, res) => reply(res, 200, 'secret'), '127.0.0.2');
      const policy = new OutboundPolicy(['127.0.0.2/32']);
      try {
        await expect(check({ url: denied.origin }, null, { policy })).rejects.toBeInstanceOf(DeniedAddressError);
        expect(denied.connections()).toBe(0);
      } finally {
        await policy.close();
      }
    });

    it('reads the certificate of an https page trusted through tls.ca', async () => {
      const cert = await makeCertificate(new Date(Date.now() + 5 * 86_400_000 + 6 * 3_600_000));
      const server = await serve((_req, res) => reply(res, 200, '<html><body>ok</body></html>', { 'content-type': 'text/html' }), '127.0.0.1', cert);
      const { output } = await check({ url: server.origin, tls: { ca: cert.cert, min_days_left: 14 } });
      expect(output).toMatchObject({ up: false, reason: 'cert_expiring', cert_days_left: 5, events: ['down', 'cert_expiring'] });
    });
  });

  describe('BrowserPool', () => {
    it('renders at most APP_BROWSER_CONCURRENCY pages at once', async () => {
      const single = new BrowserPool({ executablePath, concurrency: 1, logger });
      let inFlight = 0;
      let most = 0;
      const server = await serve((_req, res) => {
        inFlight++;
        most = Math.max(most, inFlight);
        setTimeout(() => {
          inFlight--;
          reply(res, 200, '<html><body>slow</body></html>', { 'content-type': 'text/html' });
        }, 200);
      });
      try {
        const outputs = await Promise.all([1, 2, 3].map(() => check({ url: server.origin }, null, { pool: single })));
        expect(outputs.map((o) => (o.output as BrowserCheckOutput).up)).toEqual([true, true, true]);
        expect(server.requests).toHaveLength(3);
        expect(most).toBe(1);
      } finally {
        await single.close();
      }
    });

    it('reuses one browser across runs, and starts a new one after the browser is killed', async () => {
      const own = new BrowserPool({ executablePath, concurrency: 2, logger });
      const server = await serve((_req, res) => reply(res, 200, '<html><body>ok</body></html>', { 'content-type': 'text/html' }));
      try {
        const before = chromiumBrowserPids();
        expect((await check({ url: server.origin }, null, { pool: own })).output.up).toBe(true);
        const started = chromiumBrowserPids().filter((pid) => !before.includes(pid));
        expect(started).toHaveLength(1);
        expect((await check({ url: server.origin }, null, { pool: own })).output.up).toBe(true);
        expect(chromiumBrowserPids().filter((pid) => !before.includes(pid))).toEqual(started);

        const [pid] = started as [number];
        process.kill(pid, 'SIGKILL');
        await waitUntil(() => !existsSync(`/proc/${pid}/cmdline`) || !chromiumBrowserPids().includes(pid));

        const after = await check({ url: server.origin }, null, { pool: own });
        expect(after.output).toMatchObject({ up: true, status_code: 200 });
        const restarted = chromiumBrowserPids().filter((p) => !before.includes(p));
        expect(restarted).toHaveLength(1);
        expect(restarted).not.toContain(pid);
      } finally {
        await own.close();
      }
    });

    it('closes the browser on close', async () => {
      const own = new BrowserPool({ executablePath, concurrency: 1, logger });
      const server = await serve((_req, res) => reply(res, 200, '<html></html>', { 'content-type': 'text/html' }));
      const before = chromiumBrowserPids();
      await check({ url: server.origin }, null, { pool: own });
      const started = chromiumBrowserPids().filter((pid) => !before.includes(pid));
      expect(started).toHaveLength(1);
      await own.close();
      await waitUntil(() => !chromiumBrowserPids().includes(started[0] as number));
    });
  });

  beforeAll(() => {
    expect(existsSync(executablePath)).toBe(true);
  });
}

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
