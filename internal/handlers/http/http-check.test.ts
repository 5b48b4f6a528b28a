import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { DeniedAddressError, RedirectError } from '../outbound/errors.js';
import { OutboundPolicy } from '../outbound/outbound-policy.js';
import { closedPort, rejection, reply, useLocalServers } from '../outbound/test-support.js';
import { RegexTimeoutError } from './body-match.js';
import { type HttpCheckMemory, type HttpCheckResult, requestTimeoutFor, runHttpCheck } from './http-check.js';
import { type HttpPayloadInput, httpPayloadSchema } from './payload-schema.js';

// Loopback is allowed for the targets below; the denial tests build their own policies.
const open = new OutboundPolicy([]);
const serve = useLocalServers();

afterAll(() => open.close());

interface CheckOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  policy?: OutboundPolicy;
}

function check(input: HttpPayloadInput, memory: HttpCheckMemory | null = null, options: CheckOptions = {}): Promise<HttpCheckResult> {
  return runHttpCheck(httpPayloadSchema.parse(input), {
    signal: options.signal ?? new AbortController().signal,
    timeoutMs: options.timeoutMs ?? 5_000,
    policy: options.policy ?? open,
    memory,
  });
}

/** What the store does to memory between runs: JSON out, JSON in. */
function roundTrip(memory: HttpCheckMemory): HttpCheckMemory {
  return JSON.parse(JSON.stringify(memory)) as HttpCheckMemory;
}

function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

describe('runHttpCheck: up and down', () => {
  it('reports an up target with status, size, hash and latency', async () => {
    const server = await serve((_req, res) => reply(res, 200, 'all good'));
    const { output, memory } = await check({ url: server.origin });
    expect(output).toEqual({
      up: true,
      status_code: 200,
      latency_ms: expect.any(Number),
      bytes: 8,
      truncated: false,
      content_hash: sha256('all good'),
      changed: false,
      events: [],
    });
    expect(memory).toEqual({ hash: sha256('all good'), up: true });
  });

  it('reports a 500 as down with the reason, and a down event on the first run', async () => {
    const server = await serve((_req, res) => reply(res, 500, 'oops'));
    const { output, memory } = await check({ url: server.origin });
    expect(output).toMatchObject({ up: false, reason: 'status 500 not in 200-399', status_code: 500, changed: false, events: ['down'] });
    expect(memory).toEqual({ up: false });
  });

  it('reports only transitions over a flip-flopping target', async () => {
    const statuses = [200, 500, 500, 500, 200, 200, 503, 200];
    let run = 0;
    const server = await serve((_req, res) => {
      const status = statuses[run++] ?? 200;
      reply(res, status, status === 200 ? 'same content' : `error ${run}`);
    });
    let memory: HttpCheckMemory | null = null;
    const history: { up: boolean; events: string[] }[] = [];
    for (let i = 0; i < statuses.length; i++) {
      const result: HttpCheckResult = await check({ url: server.origin }, memory);
      history.push({ up: result.output.up, events: result.output.events });
      memory = roundTrip(result.memory);
    }
    expect(history).toEqual([
      { up: true, events: [] },
      { up: false, events: ['down'] },
      { up: false, events: [] },
      { up: false, events: [] },
      { up: true, events: ['up'] },
      { up: true, events: [] },
      { up: false, events: ['down'] },
      { up: true, events: ['up'] },
    ]);
  });

  it('reports down once for a check that fails a hundred times', async () => {
    const server = await serve((_req, res) => reply(res, 500));
    let memory: HttpCheckMemory | null = null;
    const events: string[] = [];
    for (let i = 0; i < 100; i++) {
      const result: HttpCheckResult = await check({ url: server.origin }, memory);
      events.push(...result.output.events);
      memory = roundTrip(result.memory);
    }
    expect(events).toEqual(['down']);
  });

  it('takes expect_status as a list', async () => {
    const server = await serve((req, res) => reply(res, req.url === '/created' ? 201 : 200));
    expect((await check({ url: `${server.origin}/created`, expect_status: [201, 204] })).output.up).toBe(true);
    const { output } = await check({ url: `${server.origin}/ok`, expect_status: [201, 204] });
    expect(output).toMatchObject({ up: false, reason: 'status 200 not in [201, 204]' });
  });

  it('takes expect_status as a range', async () => {
    const server = await serve((req, res) => reply(res, Number(req.url?.slice(1))));
    const range = { min: 400, max: 404 };
    expect((await check({ url: `${server.origin}/404`, expect_status: range })).output.up).toBe(true);
    expect((await check({ url: `${server.origin}/400`, expect_status: range })).output.up).toBe(true);
    expect((await check({ url: `${server.origin}/405`, expect_status: range })).output.reason).toBe('status 405 not in 400-404');
    // The default range takes redirects that are not followed (no Location) as up.
    expect((await check({ url: `${server.origin}/304` })).output.up).toBe(true);
  });

  it('sends User-Agent vigil unless the task sets its own', async () => {
    const server = await serve((_req, res) => reply(res, 200));
    await check({ url: server.origin });
    await check({ url: server.origin, headers: { 'User-Agent': 'custom/1.0' } });
    expect(server.requests.map((r) => r.headers['user-agent'])).toEqual(['vigil', 'custom/1.0']);
  });

  it('sends the method and body of the payload', async () => {
    const server = await serve((_req, res) => reply(res, 200));
    await check({ url: server.origin, method: 'POST', body: '{"q":1}', headers: { 'content-type': 'application/json' } });
    expect(server.requests[0]).toMatchObject({ method: 'POST', headers: { 'content-type': 'application/json' } });
    expect(server.requests[0]?.body.toString()).toBe('{"q":1}');
  });
  it('checks with HEAD, reading no body', async () => {
    const server = await serve((_req, res) => reply(res, 200, 'ignored'));
    const { output } = await check({ url: server.origin, method: 'HEAD' });
    expect(output).toMatchObject({ up: true, status_code: 200, bytes: 0, content_hash: sha256('') });
    expect(server.requests[0]?.method).toBe('HEAD');
  });
});

describe('runHttpCheck: body match', () => {
  it('matches a substring', async () => {
    const server = await serve((_req, res) => reply(res, 200, '{"status":"ok","db":"up"}'));
    expect((await check({ url: server.origin, match: '"status":"ok"' })).output.up).toBe(true);
    expect((await check({ url: server.origin, match: { substring: '"db":"up"' } })).output.up).toBe(true);
    const { output } = await check({ url: server.origin, match: 'healthy' });
    expect(output).toMatchObject({ up: false, reason: 'body does not match substring "healthy"', status_code: 200 });
  });

  it('matches a regex with flags', async () => {
    const server = await serve((_req, res) => reply(res, 200, 'line one\nSTATUS: Fine\n'));
    expect((await check({ url: server.origin, match: { regex: '^status: (ok|fine)$', flags: 'im' } })).output.up).toBe(true);
    const { output } = await check({ url: server.origin, match: { regex: '^status: (ok|fine)$' } });
    expect(output).toMatchObject({ up: false, reason: 'body does not match regex /^status: (ok|fine)$/' });
  });

  it('fails the check, not the target, when a regex backtracks catastrophically', async () => {
    const server = await serve((_req, res) => reply(res, 200, `${'a'.repeat(40)}!`));
    const started = Date.now();
    const err = await rejection(check({ url: server.origin, match: { regex: '^(a+)+$' } }));
    expect(err).toBeInstanceOf(RegexTimeoutError);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});

describe('runHttpCheck: failures that are results', () => {
  it('reports a refused connection as down with a network error', async () => {
    const port = await closedPort();
    const { output, memory } = await check({ url: `http://127.0.0.1:${port}/` });
    expect(output).toMatchObject({ up: false, status_code: null, bytes: 0, content_hash: null, changed: false, events: ['down'] });
    expect(output.reason).toMatch(/^network error: .*ECONNREFUSED/);
    expect(memory).toEqual({ up: false });
  });

  it('reports a slow target as down at request_timeout_ms', async () => {
    const server = await serve(() => {
      // Never answers.
    });
    const started = Date.now();
    const { output } = await check({ url: server.origin, request_timeout_ms: 300 });
    const elapsed = Date.now() - started;
    expect(output).toMatchObject({ up: false, reason: 'request timed out after 300 ms', status_code: null, events: ['down'] });
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(300 + 700);
  });

  it("times out a little under the task's timeout by default", async () => {
    const server = await serve(() => {
      // Never answers.
    });
    const { output } = await check({ url: server.origin }, null, { timeoutMs: 1_000 });
    expect(output.reason).toBe('request timed out after 900 ms');
  });

  it('cuts a body larger than max_body_bytes and hashes what it read', async () => {
    const big = 'b'.repeat(200_000);
    const server = await serve((_req, res) => reply(res, 200, big));
    const { output } = await check({ url: server.origin, max_body_bytes: 1_000 });
    expect(output).toMatchObject({ up: true, truncated: true, bytes: 1_000, content_hash: sha256(big.slice(0, 1_000)) });
  });
});

describe('runHttpCheck: failures of the check itself', () => {
  it("rethrows the task signal's abort instead of reporting down", async () => {
    const server = await serve(() => {
      // Never answers.
    });
    const controller = new AbortController();
    const reason = new Error('task timed out');
    setTimeout(() => controller.abort(reason), 100);
    const err = await rejection(check({ url: server.origin, request_timeout_ms: 5_000 }, null, { signal: controller.signal }));
    expect(err).toBe(reason);
  });

  it('does not send anything when the task signal is already aborted', async () => {
    const server = await serve((_req, res) => reply(res, 200));
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await expect(check({ url: server.origin }, null, { signal: controller.signal })).rejects.toThrow('gone');
    expect(server.connections()).toBe(0);
  });

  it('throws a RedirectError on a redirect loop', async () => {
    const server = await serve((req, res) => reply(res, 302, '', { location: req.url === '/a' ? '/b' : '/a' }));
    const err = await rejection(check({ url: `${server.origin}/a` }));
    expect(err).toBeInstanceOf(RedirectError);
    expect((err as Error).message).toBe(`redirect loop: ${server.origin}/a → ${server.origin}/b → ${server.origin}/a`);
  });

  it('throws a RedirectError on too many redirects', async () => {
    const server = await serve((req, res) => reply(res, 302, '', { location: `/${Number(req.url?.slice(1)) + 1}` }));
    const err = await rejection(check({ url: `${server.origin}/0` }));
    expect(err).toBeInstanceOf(RedirectError);
    expect((err as RedirectError).code).toBe('too_many_redirects');
  });

  it('throws a DeniedAddressError, and the target receives nothing', async () => {
    const server = await serve((_req, res) => reply(res, 200));
    const policy = new OutboundPolicy(['127.0.0.0/8']);
    try {
      const err = await rejection(check({ url: server.origin }, null, { policy }));
      expect(err).toBeInstanceOf(DeniedAddressError);
      expect(server.connections()).toBe(0);
      expect(server.requests).toHaveLength(0);
    } finally {
      await policy.close();
    }
  });

  it('reports redirects it followed', async () => {
    const server = await serve((req, res) => (req.url === '/old' ? reply(res, 301, '', { location: '/new' }) : reply(res, 200)));
    const { output } = await check({ url: `${server.origin}/old` });
    expect(output).toMatchObject({ up: true, redirects: 1, final_url: `${server.origin}/new` });
  });
});

describe('runHttpCheck: changes', () => {
  it('flags a changed body, and not on the first run', async () => {
    const bodies = ['v1', 'v1', 'v2', 'v2', 'v3'];
    let run = 0;
    const server = await serve((_req, res) => reply(res, 200, bodies[run++] ?? ''));
    let memory: HttpCheckMemory | null = null;
    const seen: [boolean, string[]][] = [];
    for (let i = 0; i < bodies.length; i++) {
      const result: HttpCheckResult = await check({ url: server.origin }, memory);
      seen.push([result.output.changed, result.output.events]);
      memory = roundTrip(result.memory);
    }
    expect(seen).toEqual([
      [false, []],
      [false, []],
      [true, ['changed']],
      [false, []],
      [true, ['changed']],
    ]);
  });

  it('compares content only while up: an outage does not count as a change', async () => {
    let status = 200;
    const server = await serve((_req, res) => reply(res, status, status === 200 ? 'content' : 'maintenance page'));
    const first = await check({ url: server.origin });
    status = 503;
    const outage = await check({ url: server.origin }, roundTrip(first.memory));
    expect(outage.output).toMatchObject({ up: false, changed: false, events: ['down'] });
    expect(outage.memory.hash).toBe(sha256('content'));
    status = 200;
    const back = await check({ url: server.origin }, roundTrip(outage.memory));
    expect(back.output).toMatchObject({ up: true, changed: false, events: ['up'] });
  });
});

describe('runHttpCheck: new items', () => {
  const feed = (ids: number[]) => ({ data: { items: ids.map((id) => ({ id, title: `item ${id}` })) } });

  it('sets a baseline, reports exactly the added items, and nothing after a restart', async () => {
    let ids = [1, 2, 3];
    const server = await serve((_req, res) => reply(res, 200, feed(ids)));
    const payload = { url: server.origin, items: { path: '/data/items', id: 'id' } };

    const baseline = await check(payload);
    expect(baseline.output.new_items).toEqual({ count: 0, first: [] });
    expect(baseline.output.events).toEqual([]);
    expect(baseline.memory.seen_ids).toEqual(['1', '2', '3']);

    ids = [5, 4, 1, 2, 3];
    const second = await check(payload, roundTrip(baseline.memory));
    expect(second.output.new_items).toEqual({
      count: 2,
      first: [
        { id: 5, title: 'item 5' },
        { id: 4, title: 'item 4' },
      ],
    });
    expect(second.output.events).toEqual(['changed', 'new_items']);

    // A restart, or another process: only the stored memory carries over.
    const third = await check(payload, roundTrip(second.memory));
    expect(third.output.new_items).toEqual({ count: 0, first: [] });
    expect(third.output.events).toEqual([]);
  });

  it('treats an empty feed as read: its first items are new', async () => {
    let ids: number[] = [];
    const server = await serve((_req, res) => reply(res, 200, feed(ids)));
    const payload = { url: server.origin, items: { path: '/data/items', id: 'id' } };
    const empty = await check(payload);
    expect(empty.memory.seen_ids).toEqual([]);
    ids = [7];
    const next = await check(payload, roundTrip(empty.memory));
    expect(next.output.new_items?.count).toBe(1);
  });

  it('keeps up by status and reports items_error when the items cannot be read', async () => {
    let body: string | object = feed([1, 2]);
    const server = await serve((_req, res) => reply(res, 200, body));
    const payload = { url: server.origin, items: { path: '/data/items', id: 'id' } };
    const good = await check(payload);

    body = { data: {} };
    const missing = await check(payload, roundTrip(good.memory));
    expect(missing.output).toMatchObject({ up: true, items_error: 'items.path "/data/items" is not in the body (nothing at /data/items)' });
    expect(missing.output.new_items).toBeUndefined();
    expect(missing.memory.seen_ids).toEqual(['1', '2']);

    body = { data: { items: 'nope' } };
    expect((await check(payload, roundTrip(good.memory))).output.items_error).toBe('items.path "/data/items" is a string, not an array');
    body = '<html>not json</html>';
    expect((await check(payload, roundTrip(good.memory))).output.items_error).toMatch(/^body is not JSON/);
    body = { data: { items: [{ name: 'no id' }] } };
    expect((await check(payload, roundTrip(good.memory))).output.items_error).toBe('no item has a string or number field "id"');

    // The feed comes back: the ids remembered before the trouble still count as seen.
    body = feed([3, 1, 2]);
    const back = await check(payload, roundTrip(missing.memory));
    expect(back.output.new_items).toEqual({ count: 1, first: [{ id: 3, title: 'item 3' }] });
  });

  it('does not read items from a truncated body', async () => {
    const server = await serve((_req, res) => reply(res, 200, feed([1, 2, 3, 4, 5, 6, 7, 8, 9])));
    const { output } = await check({ url: server.origin, items: { path: '/data/items', id: 'id' }, max_body_bytes: 50 });
    expect(output.items_error).toMatch(/^body was cut at max_body_bytes \(50 bytes\)/);
  });

  it('skips items while the target is down, keeping the seen ids', async () => {
    let status = 200;
    const server = await serve((_req, res) => reply(res, status, status === 200 ? feed([1]) : { error: true }));
    const payload = { url: server.origin, items: { path: '/data/items', id: 'id' } };
    const first = await check(payload);
    status = 500;
    const down = await check(payload, roundTrip(first.memory));
    expect(down.output.new_items).toBeUndefined();
    expect(down.output.items_error).toBeUndefined();
    expect(down.memory).toEqual({ hash: first.memory.hash, up: false, seen_ids: ['1'] });
  });
});

describe('requestTimeoutFor', () => {
  it('defaults to max(timeout - 500, timeout × 0.9) and caps a larger request_timeout_ms there', () => {
    expect(requestTimeoutFor(undefined, 30_000)).toBe(29_500);
    expect(requestTimeoutFor(undefined, 1_000)).toBe(900);
    expect(requestTimeoutFor(undefined, 100)).toBe(90);
    expect(requestTimeoutFor(undefined, 1)).toBe(1);
    expect(requestTimeoutFor(2_000, 30_000)).toBe(2_000);
    expect(requestTimeoutFor(60_000, 30_000)).toBe(29_500);
  });
});
