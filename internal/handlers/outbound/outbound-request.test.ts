import { afterAll, describe, expect, it } from 'vitest';
import { DeniedAddressError, OutboundNetworkError, RedirectError } from './errors.js';
import { OutboundPolicy } from './outbound-policy.js';
import { outboundRequest } from './outbound-request.js';
import { closedPort, rejection, reply, useLocalServers } from './test-support.js';

// Loopback is allowed here; the denial tests build their own policies.
const open = new OutboundPolicy([]);
const serve = useLocalServers();
const policies: OutboundPolicy[] = [open];

function policyOf(...args: ConstructorParameters<typeof OutboundPolicy>): OutboundPolicy {
  const policy = new OutboundPolicy(...args);
  policies.push(policy);
  return policy;
}

afterAll(async () => {
  await Promise.all(policies.map((p) => p.close()));
});

describe('outboundRequest: responses', () => {
  it('returns status, headers and body of a plain response', async () => {
    const server = await serve((_req, res) => reply(res, 200, 'hello', { 'x-test': 'yes' }));
    const res = await outboundRequest({ url: `${server.origin}/a#frag`, policy: open });
    expect(res.status).toBe(200);
    expect(res.headers['x-test']).toBe('yes');
    expect(res.body.toString()).toBe('hello');
    expect(res.bytes).toBe(5);
    expect(res.truncated).toBe(false);
    expect(res.finalUrl).toBe(`${server.origin}/a`);
    expect(res.redirects).toBe(0);
  });

  it('sends the method, headers and body it is given', async () => {
    const server = await serve((_req, res) => reply(res, 201));
    await outboundRequest({ url: server.origin, method: 'put', headers: { 'X-Key': 'v' }, body: '{"a":1}', policy: open });
    expect(server.requests[0]?.method).toBe('PUT');
    expect(server.requests[0]?.headers['x-key']).toBe('v');
    expect(server.requests[0]?.body.toString()).toBe('{"a":1}');
  });

  it('stops reading at maxBodyBytes and flags the body truncated', async () => {
    const server = await serve((_req, res) => reply(res, 200, 'x'.repeat(100_000)));
    const res = await outboundRequest({ url: server.origin, maxBodyBytes: 1000, policy: open });
    expect(res.truncated).toBe(true);
    expect(res.bytes).toBe(1000);
    expect(res.body.length).toBe(1000);
  });

  it('does not flag a body of exactly maxBodyBytes', async () => {
    const server = await serve((_req, res) => reply(res, 200, 'y'.repeat(1000)));
    const res = await outboundRequest({ url: server.origin, maxBodyBytes: 1000, policy: open });
    expect(res.truncated).toBe(false);
    expect(res.bytes).toBe(1000);
  });

  it('returns from an endless body instead of reading it forever', async () => {
    let closed!: () => void;
    const serverSawClose = new Promise<void>((resolve) => (closed = resolve));
    const server = await serve((_req, res) => {
      res.writeHead(200);
      const timer = setInterval(() => res.write('z'.repeat(4096)), 1);
      res.on('close', () => {
        clearInterval(timer);
        closed();
      });
    });
    const res = await outboundRequest({ url: server.origin, maxBodyBytes: 50_000, policy: open });
    expect(res.truncated).toBe(true);
    expect(res.bytes).toBe(50_000);
    // Destroying the body closes the connection, which the server sees.
    await serverSawClose;
  });

  it('turns a refused connection into an OutboundNetworkError', async () => {
    const port = await closedPort();
    const err = await rejection(outboundRequest({ url: `http://127.0.0.1:${port}/`, policy: open }));
    expect(err).toBeInstanceOf(OutboundNetworkError);
    expect((err as OutboundNetworkError).errorCode).toBe('ECONNREFUSED');
    expect((err as Error).message).toContain('ECONNREFUSED');
  });

  it("rethrows the signal's reason when it aborts, unwrapped", async () => {
    const server = await serve(() => {
      // Never answers.
    });
    const controller = new AbortController();
    const reason = new Error('stop now');
    setTimeout(() => controller.abort(reason), 50);
    const err = await rejection(outboundRequest({ url: server.origin, signal: controller.signal, policy: open }));
    expect(err).toBe(reason);
  });

  it('refuses a non-http URL outright', async () => {
    await expect(outboundRequest({ url: 'ftp://127.0.0.1/', policy: open })).rejects.toThrow(/http or https/);
  });
});

describe('outboundRequest: redirects', () => {
  it('follows redirects, resolving relative Locations against the current URL', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/start') return reply(res, 301, '', { location: 'next' });
      if (req.url === '/next') return reply(res, 302, '', { location: '/dir/final?q=1' });
      return reply(res, 200, `at ${req.url}`);
    });
    const res = await outboundRequest({ url: `${server.origin}/start`, policy: open });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('at /dir/final?q=1');
    expect(res.redirects).toBe(2);
    expect(res.finalUrl).toBe(`${server.origin}/dir/final?q=1`);
  });

  it('turns POST into a bodiless GET on 303, and repeats POST with its body on 307', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/see-other') return reply(res, 303, '', { location: '/landing' });
      if (req.url === '/temporary') return reply(res, 307, '', { location: '/landing' });
      return reply(res, 200);
    });
    await outboundRequest({ url: `${server.origin}/see-other`, method: 'POST', body: 'data', headers: { 'content-type': 'text/plain' }, policy: open });
    expect(server.requests[1]).toMatchObject({ method: 'GET', url: '/landing' });
    expect(server.requests[1]?.body.length).toBe(0);
    expect(server.requests[1]?.headers['content-type']).toBeUndefined();

    await outboundRequest({ url: `${server.origin}/temporary`, method: 'POST', body: 'data', policy: open });
    expect(server.requests[3]).toMatchObject({ method: 'POST', url: '/landing' });
    expect(server.requests[3]?.body.toString()).toBe('data');
  });

  it('allows post/redirect/get back to the same URL', async () => {
    const server = await serve((req, res) => (req.method === 'POST' ? reply(res, 303, '', { location: '/form' }) : reply(res, 200, 'form')));
    const res = await outboundRequest({ url: `${server.origin}/form`, method: 'POST', body: 'x', policy: open });
    expect(res.body.toString()).toBe('form');
  });

  it('drops credentials when a redirect leaves the origin, and keeps them within it', async () => {
    const other = await serve((_req, res) => reply(res, 200));
    const server = await serve((req, res) => {
      if (req.url === '/same') return reply(res, 302, '', { location: '/landing' });
      if (req.url === '/away') return reply(res, 302, '', { location: `${other.origin}/landing` });
      return reply(res, 200);
    });
    const headers = { Authorization: 'Bearer secret', Cookie: 'sid=1', 'X-Other': 'kept' };
    await outboundRequest({ url: `${server.origin}/same`, headers, policy: open });
    expect(server.requests[1]?.headers.authorization).toBe('Bearer secret');

    await outboundRequest({ url: `${server.origin}/away`, headers, policy: open });
    expect(other.requests[0]?.headers.authorization).toBeUndefined();
    expect(other.requests[0]?.headers.cookie).toBeUndefined();
    expect(other.requests[0]?.headers['x-other']).toBe('kept');
  });

  it('ends a redirect loop with a RedirectError that shows the loop', async () => {
    const server = await serve((req, res) => reply(res, 302, '', { location: req.url === '/a' ? '/b' : '/a' }));
    const err = await rejection(outboundRequest({ url: `${server.origin}/a`, policy: open }));
    expect(err).toBeInstanceOf(RedirectError);
    expect((err as RedirectError).code).toBe('redirect_loop');
    expect((err as Error).message).toBe(`redirect loop: ${server.origin}/a → ${server.origin}/b → ${server.origin}/a`);
    expect(server.requests).toHaveLength(2);
  });

  it('gives up after maxRedirects with a RedirectError', async () => {
    const server = await serve((req, res) => {
      const n = Number(req.url?.slice(1));
      reply(res, 302, '', { location: `/${n + 1}` });
    });
    const err = await rejection(outboundRequest({ url: `${server.origin}/0`, maxRedirects: 3, policy: open }));
    expect(err).toBeInstanceOf(RedirectError);
    expect((err as RedirectError).code).toBe('too_many_redirects');
    expect((err as Error).message).toMatch(/^more than 3 redirects: .*\/0 → .*\/1 → .*\/2 → .*\/3 → .*\/4$/);
    // The fourth redirect is refused, not followed.
    expect(server.requests.map((r) => r.url)).toEqual(['/0', '/1', '/2', '/3']);
  });

  it('follows the default of 5 redirects', async () => {
    const server = await serve((req, res) => {
      const n = Number(req.url?.slice(1));
      return n < 5 ? reply(res, 302, '', { location: `/${n + 1}` }) : reply(res, 200, 'done');
    });
    const res = await outboundRequest({ url: `${server.origin}/0`, policy: open });
    expect(res.redirects).toBe(5);
  });

  it('returns the redirect itself when maxRedirects is 0', async () => {
    const server = await serve((_req, res) => reply(res, 302, '', { location: '/elsewhere' }));
    const res = await outboundRequest({ url: server.origin, maxRedirects: 0, policy: open });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/elsewhere');
  });

  it('refuses a redirect to another scheme', async () => {
    const server = await serve((_req, res) => reply(res, 302, '', { location: 'file:///etc/passwd' }));
    const err = await rejection(outboundRequest({ url: server.origin, policy: open }));
    expect(err).toBeInstanceOf(RedirectError);
    expect((err as RedirectError).code).toBe('bad_redirect');
    expect((err as Error).message).toContain('unsupported scheme file:');
  });

  it('returns a redirect without a Location as the final response', async () => {
    const server = await serve((_req, res) => reply(res, 302, 'nowhere'));
    const res = await outboundRequest({ url: server.origin, policy: open });
    expect(res.status).toBe(302);
    expect(res.body.toString()).toBe('nowhere');
  });
});

describe('outboundRequest: denied addresses', () => {
  it('refuses a literal denied address without connecting', async () => {
    const server = await serve((_req, res) => reply(res, 200));
    const policy = policyOf(['127.0.0.0/8']);
    const err = await rejection(outboundRequest({ url: `${server.origin}/`, policy }));
    expect(err).toBeInstanceOf(DeniedAddressError);
    expect((err as Error).message).toBe('address 127.0.0.1 is denied by APP_HTTP_DENY_CIDRS (127.0.0.0/8)');
    expect(server.connections()).toBe(0);
    expect(server.requests).toHaveLength(0);
  });

  it('refuses a literal IPv6 address in brackets', async () => {
    const policy = policyOf(['::1/128']);
    const err = await rejection(outboundRequest({ url: 'http://[::1]:9/', policy }));
    expect(err).toBeInstanceOf(DeniedAddressError);
    expect((err as DeniedAddressError).address).toBe('::1');
  });

  it('refuses an IPv4-mapped IPv6 literal of a denied IPv4 address', async () => {
    const err = await rejection(outboundRequest({ url: 'http://[::ffff:169.254.169.254]/', policy: policyOf() }));
    expect(err).toBeInstanceOf(DeniedAddressError);
    expect((err as DeniedAddressError).cidr).toBe('169.254.0.0/16');
  });

  it('re-checks after a redirect: the second server is never contacted', async () => {
    const second = await serve((_req, res) => reply(res, 200, 'secret'), '127.0.0.2');
    const first = await serve((_req, res) => reply(res, 302, '', { location: `${second.origin}/` }));
    const policy = policyOf(['127.0.0.2/32']);
    const err = await rejection(outboundRequest({ url: `${first.origin}/`, policy }));
    expect(err).toBeInstanceOf(DeniedAddressError);
    expect((err as Error).message).toContain('address 127.0.0.2');
    expect(first.requests).toHaveLength(1);
    expect(second.connections()).toBe(0);
    expect(second.requests).toHaveLength(0);
  });

  it('checks the resolved address of a host name (localhost)', async () => {
    const server = await serve((_req, res) => reply(res, 200));
    const policy = policyOf(['127.0.0.0/8', '::1/128']);
    const err = await rejection(outboundRequest({ url: `http://localhost:${server.port}/`, policy }));
    expect(err).toBeInstanceOf(DeniedAddressError);
    expect((err as Error).message).toMatch(/^address (127\.0\.0\.1|::1) of localhost is denied by APP_HTTP_DENY_CIDRS/);
    expect(server.connections()).toBe(0);
  });

  it('names the host and address for a name that resolves into the metadata range', async () => {
    const policy = policyOf(undefined, { resolve: async () => [{ address: '169.254.169.254', family: 4 }] });
    const err = await rejection(outboundRequest({ url: 'http://metadata.local/latest/', policy }));
    expect(err).toBeInstanceOf(DeniedAddressError);
    expect((err as Error).message).toBe('address 169.254.169.254 of metadata.local is denied by APP_HTTP_DENY_CIDRS (169.254.0.0/16)');
  });

  it('refuses a name when any of its addresses is denied, even if an allowed one comes first', async () => {
    const server = await serve((_req, res) => reply(res, 200));
    const policy = policyOf(undefined, {
      resolve: async () => [
        { address: '127.0.0.1', family: 4 },
        { address: '169.254.169.254', family: 4 },
      ],
    });
    const err = await rejection(outboundRequest({ url: `http://mixed.test:${server.port}/`, policy }));
    expect(err).toBeInstanceOf(DeniedAddressError);
    expect(server.connections()).toBe(0);
  });

  it('connects to exactly the address it checked', async () => {
    const server = await serve((req, res) => reply(res, 200, `host ${req.headers.host}`));
    const policy = policyOf(undefined, { resolve: async () => [{ address: '127.0.0.1', family: 4 }] });
    const res = await outboundRequest({ url: `http://target.test:${server.port}/`, policy });
    expect(res.body.toString()).toBe(`host target.test:${server.port}`);
  });

  it('reports a name that resolves to nothing as a network error', async () => {
    const policy = policyOf(undefined, { resolve: async () => [] });
    const err = await rejection(outboundRequest({ url: 'http://nothing.test/', policy }));
    expect(err).toBeInstanceOf(OutboundNetworkError);
    expect((err as OutboundNetworkError).errorCode).toBe('ENOTFOUND');
  });
});
