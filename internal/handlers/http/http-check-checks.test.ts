import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboundPolicy } from '../outbound/outbound-policy.js';
import { makeCertificate, reply, type TestCertificate, useLocalServers } from '../outbound/test-support.js';
import { type HttpCheckMemory, type HttpCheckResult, runHttpCheck } from './http-check.js';
import { type HttpPayloadInput, httpPayloadSchema } from './payload-schema.js';

/**
 * The checks beyond status and match (latency, TLS expiry, JSON conditions, headers) and items from HTML and feeds,
 * against real local servers: HTTP and HTTPS with a certificate made here.
 */

const open = new OutboundPolicy([]);
const serve = useLocalServers();
const DAY = 86_400_000;

afterAll(() => open.close());

function check(input: HttpPayloadInput, memory: HttpCheckMemory | null = null): Promise<HttpCheckResult> {
  return runHttpCheck(httpPayloadSchema.parse(input), { signal: new AbortController().signal, timeoutMs: 5_000, policy: open, memory });
}

/** Runs the same payload `n` times, each run with the memory the previous one left, as the scheduler does. */
async function runs(input: HttpPayloadInput, n: number, memory: HttpCheckMemory | null = null): Promise<HttpCheckResult[]> {
  const results: HttpCheckResult[] = [];
  let current = memory;
  for (let i = 0; i < n; i++) {
    const result = await check(input, current);
    results.push(result);
    current = JSON.parse(JSON.stringify(result.memory)) as HttpCheckMemory;
  }
  return results;
}

describe('max_latency_ms', () => {
  it('is down with reason slow when the response takes longer, up when it does not', async () => {
    const server = await serve((req, res) => {
      const delay = req.url === '/slow' ? 300 : 0;
      setTimeout(() => reply(res, 200, 'ok'), delay);
    });
    const slow = await check({ url: `${server.origin}/slow`, max_latency_ms: 100 });
    expect(slow.output).toMatchObject({ up: false, reason: 'slow', status_code: 200, events: ['down'] });
    expect(slow.output.detail).toMatch(/^took \d+ ms, over max_latency_ms 100$/);
    expect(slow.output.latency_ms).toBeGreaterThanOrEqual(300);
    const fast = await check({ url: `${server.origin}/fast`, max_latency_ms: 2_000 });
    expect(fast.output).toMatchObject({ up: true });
    expect(fast.output).not.toHaveProperty('reason');
  });
});

describe('tls', () => {
  let expiring: TestCertificate;
  let lasting: TestCertificate;
  beforeAll(async () => {
    // "Expires in 5 days": 5 whole days and some hours, so the count does not tick over while the test runs.
    expiring = await makeCertificate(new Date(Date.now() + 5 * DAY + 6 * 3_600_000));
    lasting = await makeCertificate(new Date(Date.now() + 90 * DAY + 6 * 3_600_000));
  });

  it('refuses a certificate nobody vouches for (down, not trusted), and trusts it only through tls.ca', async () => {
    const server = await serve((_req, res) => reply(res, 200, 'ok'), '127.0.0.1', lasting);
    const untrusted = await check({ url: server.origin });
    expect(untrusted.output).toMatchObject({ up: false, status_code: null });
    expect(untrusted.output.reason).toMatch(/^network error: .*self-signed certificate/);
    const trusted = await check({ url: server.origin, tls: { ca: lasting.cert } });
    expect(trusted.output).toMatchObject({ up: true, status_code: 200, cert_days_left: 90 });
  });

  it('reports cert_days_left 5 on every run and sends cert_expiring once for the certificate', async () => {
    const server = await serve((_req, res) => reply(res, 200, 'ok'), '127.0.0.1', expiring);
    const results = await runs({ url: server.origin, tls: { ca: expiring.cert, min_days_left: 14 } }, 3);
    for (const { output } of results) {
      expect(output).toMatchObject({ up: false, reason: 'cert_expiring', cert_days_left: 5, status_code: 200 });
      expect(Date.parse(output.cert_expires_at ?? '')).toBeGreaterThan(Date.now() + 5 * DAY);
    }
    expect(results.map((r) => r.output.events)).toEqual([['down', 'cert_expiring'], [], []]);
    expect(results[0]?.output.detail).toMatch(/in 5 days, under tls.min_days_left 14$/);
  });

  it('sends cert_expiring again for a new certificate that is also short-lived, and reports days without a limit', async () => {
    const first = await serve((_req, res) => reply(res, 200, 'ok'), '127.0.0.1', expiring);
    const payload = { url: first.origin, tls: { ca: expiring.cert, min_days_left: 14 } };
    const [before] = await runs(payload, 1);
    const renewed = await makeCertificate(new Date(Date.now() + 3 * DAY + 6 * 3_600_000));
    const second = await serve((_req, res) => reply(res, 200, 'ok'), '127.0.0.1', renewed);
    const [after] = await runs({ url: second.origin, tls: { ca: renewed.cert, min_days_left: 14 } }, 1, before?.memory ?? null);
    expect(after?.output.events).toEqual(['cert_expiring']);
    expect(after?.output.cert_days_left).toBe(3);

    const plain = await check({ url: first.origin, tls: { ca: expiring.cert } });
    expect(plain.output).toMatchObject({ up: true, cert_days_left: 5, events: [] });
  });

  it('reads the certificate on every https run (a connection of its own), while plain http runs share one', async () => {
    const secure = await serve((_req, res) => reply(res, 200, 'ok'), '127.0.0.1', lasting);
    const secureRuns = await runs({ url: secure.origin, tls: { ca: lasting.cert } }, 3);
    expect(secureRuns.map((r) => r.output.cert_days_left)).toEqual([90, 90, 90]);
    expect(secure.connections()).toBe(3);

    const plain = await serve((_req, res) => reply(res, 200, 'ok'));
    const plainRuns = await runs({ url: plain.origin }, 6);
    expect(plainRuns.every((r) => r.output.up)).toBe(true);
    expect(plain.requests).toHaveLength(6);
    // Kept alive between runs (a run may start before the previous one's connection is back in the pool).
    expect(plain.connections()).toBeLessThanOrEqual(2);
  });

  it('has no certificate fields for plain http', async () => {
    const server = await serve((_req, res) => reply(res, 200, 'ok'));
    const { output } = await check({ url: server.origin });
    expect(output).not.toHaveProperty('cert_days_left');
    expect(output).not.toHaveProperty('cert_expires_at');
  });
});

describe('json conditions and expected headers', () => {
  it('is up when every condition and header holds, and names each failing one otherwise', async () => {
    let health: object = { status: 'ok', queue: { depth: 3 } };
    const server = await serve((_req, res) => reply(res, 200, health, { 'x-region': 'eu-west-1', 'cache-control': 'no-store' }));
    const payload: HttpPayloadInput = {
      url: server.origin,
      json: [
        { path: '/status', op: 'eq', value: 'ok' },
        { path: '/queue/depth', op: 'lt', value: 100 },
      ],
      expect_headers: { 'Content-Type': { regex: '^application/json' }, 'x-region': 'eu-west-1' },
    };
    const up = await check(payload);
    expect(up.output).toMatchObject({ up: true });
    expect(up.output).not.toHaveProperty('json_failures');

    health = { status: 'degraded', queue: { depth: 250 } };
    const down = await check(payload, up.memory);
    expect(down.output).toMatchObject({ up: false, reason: 'json_condition', events: ['down'] });
    expect(down.output.json_failures?.map((f) => f.message)).toEqual([
      '/status is "degraded", expected eq "ok"',
      '/queue/depth is 250, expected lt 100',
    ]);
    expect(down.output.detail).toBe('/status is "degraded", expected eq "ok"; /queue/depth is 250, expected lt 100');

    const headers = await check({ ...payload, json: undefined, expect_headers: { 'x-region': 'us-east-1', 'x-missing': { regex: '.' } } });
    expect(headers.output).toMatchObject({ up: false, reason: 'header_mismatch' });
    expect(headers.output.header_failures).toEqual([
      { name: 'x-region', expected: 'us-east-1', actual: 'eu-west-1' },
      { name: 'x-missing', expected: '/./', actual: null },
    ]);
  });

  it('reports the status first when several checks fail, and still lists the failing conditions', async () => {
    const server = await serve((_req, res) => reply(res, 503, { status: 'down' }));
    const { output } = await check({ url: server.origin, json: [{ path: '/status', op: 'eq', value: 'ok' }] });
    expect(output.reason).toBe('status 503 not in 200-399');
    expect(output.json_failures).toHaveLength(1);
  });
});

describe('items from HTML', () => {
  const item = (n: number, name: string) =>
    `<li class="item"><a href="/lamps/${n}"><span class="name">${name}</span></a><span class="price" data-value="${n}0.00">${n}0 €</span></li>`;
  const items = {
    selector: 'li.item',
    id: { selector: 'a', attr: 'href' },
    fields: { title: '.name', price: { selector: '.price', attr: 'data-value' }, url: { selector: 'a', attr: 'href' } },
  };

  it('reports exactly the two items a list gains, with their fields and absolute URLs; a reordered list reports nothing', async () => {
    let list = [item(1, 'Brass lamp'), item(2, 'Floor lamp')];
    const server = await serve((req, res) => {
      // The page is reached through a redirect: relative URLs resolve against where it was finally read.
      if (req.url === '/search') return reply(res, 302, '', { location: '/shop/results?q=lamp' });
      return reply(res, 200, `<html><body><ul>${list.join('')}</ul></body></html>`, { 'content-type': 'text/html' });
    });
    const payload = { url: `${server.origin}/search`, items };
    const [baseline] = await runs(payload, 1);
    expect(baseline?.output).toMatchObject({ up: true, new_items: { count: 0, first: [] }, events: [] });

    list = [item(4, 'Desk lamp'), item(3, 'Wall lamp'), ...list];
    const [gained] = await runs(payload, 1, baseline?.memory);
    expect(gained?.output.new_items).toEqual({
      count: 2,
      first: [
        { id: `${server.origin}/lamps/4`, title: 'Desk lamp', price: '40.00', url: `${server.origin}/lamps/4` },
        { id: `${server.origin}/lamps/3`, title: 'Wall lamp', price: '30.00', url: `${server.origin}/lamps/3` },
      ],
    });
    expect(gained?.output.events).toEqual(['changed', 'new_items']);

    list = [...list].reverse();
    const [reordered] = await runs(payload, 1, gained?.memory);
    expect(reordered?.output).toMatchObject({ up: true, changed: true, new_items: { count: 0, first: [] }, events: ['changed'] });
  });

  it('is down with a reason when the selector matches nothing, and keeps what it had seen', async () => {
    let body = `<ul>${item(1, 'Brass lamp')}</ul>`;
    const server = await serve((_req, res) => reply(res, 200, body, { 'content-type': 'text/html' }));
    const [first] = await runs({ url: server.origin, items }, 1);
    body = '<div class="new-layout"><article>Brass lamp</article></div>';
    const [broken] = await runs({ url: server.origin, items }, 1, first?.memory);
    expect(broken?.output).toMatchObject({
      up: false,
      reason: 'no_items',
      detail: 'items.selector "li.item" matched nothing',
      status_code: 200,
      events: ['down'],
    });
    expect(broken?.output).not.toHaveProperty('new_items');
    expect(broken?.memory.seen_ids).toEqual([`${server.origin}/lamps/1`]);
  });
});

describe('items from feeds', () => {
  const rss = (entries: string[]) =>
    `<?xml version="1.0"?><rss version="2.0"><channel><title>Shop</title><link>https://shop.example/</link><description>d</description>${entries.join('')}</channel></rss>`;
  const rssEntry = (n: number) =>
    `<item><title>Lamp ${n}</title><link>/lamps/${n}</link><guid>lamp-${n}</guid><pubDate>Tue, 10 Jun 2025 0${n}:00:00 GMT</pubDate><description>&lt;p&gt;No. ${n}&lt;/p&gt;</description></item>`;
  const atom = (entries: string[]) =>
    `<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Shop</title><id>urn:shop</id><updated>2025-06-10T00:00:00Z</updated>${entries.join('')}</feed>`;
  const atomEntry = (n: number) =>
    `<entry><title>Lamp ${n}</title><link href="/lamps/${n}"/><id>urn:lamp:${n}</id><updated>2025-06-10T0${n}:00:00Z</updated><summary>No. ${n}</summary></entry>`;
  const jsonFeed = (entries: object[]) => JSON.stringify({ version: 'https://jsonfeed.org/version/1.1', title: 'Shop', items: entries });
  const jsonEntry = (n: number) => ({ id: `lamp-${n}`, url: `/lamps/${n}`, title: `Lamp ${n}`, content_text: `No. ${n}`, date_published: `2025-06-10T0${n}:00:00Z` });

  const formats = [
    { name: 'RSS 2.0', type: 'application/rss+xml', render: (n: number[]) => rss(n.map(rssEntry)), id: (n: number) => `lamp-${n}` },
    { name: 'Atom', type: 'application/atom+xml', render: (n: number[]) => atom(n.map(atomEntry)), id: (n: number) => `urn:lamp:${n}` },
    { name: 'JSON Feed', type: 'application/feed+json', render: (n: number[]) => jsonFeed(n.map(jsonEntry)), id: (n: number) => `lamp-${n}` },
  ];

  for (const format of formats) {
    it(`${format.name}: reports the entry the feed gains, with its title, link, date and summary`, async () => {
      let entries = [1, 2];
      const server = await serve((_req, res) => reply(res, 200, format.render(entries), { 'content-type': format.type }));
      const payload = { url: `${server.origin}/feed`, items: { feed: true as const } };
      const [baseline] = await runs(payload, 1);
      expect(baseline?.output).toMatchObject({ up: true, new_items: { count: 0 } });
      entries = [3, ...entries];
      const [gained] = await runs(payload, 1, baseline?.memory);
      expect(gained?.output.new_items).toEqual({
        count: 1,
        first: [{ id: format.id(3), title: 'Lamp 3', link: `${server.origin}/lamps/3`, date: '2025-06-10T03:00:00.000Z', summary: 'No. 3' }],
      });
      expect(gained?.output.events).toEqual(['changed', 'new_items']);
    });
  }

  it('is down with not_a_feed when the URL serves something else', async () => {
    const server = await serve((_req, res) => reply(res, 200, '<html>We moved our feed</html>', { 'content-type': 'text/html' }));
    const { output } = await check({ url: server.origin, items: { feed: true } });
    expect(output).toMatchObject({ up: false, reason: 'not_a_feed' });
  });
});
