import { afterAll, describe, expect, it } from 'vitest';
import { OutboundPolicy } from './outbound-policy.js';
import { closedPort, reply, useLocalServers } from './test-support.js';
import { deliverWebhook, signBody, verifySignature } from './webhook.js';

const open = new OutboundPolicy([]);
const serve = useLocalServers();

afterAll(() => open.close());

const event = { task_id: 42, task_name: 'shop feed', event: 'down', output: { up: false, reason: 'status 500 not in 200-399' }, at: '2025-01-01T00:00:00.000Z' };

describe('deliverWebhook', () => {
  it('POSTs the body as JSON with a signature the receiver can verify', async () => {
    const receiver = await serve((_req, res) => reply(res, 204));
    const result = await deliverWebhook({ url: `${receiver.origin}/hook`, body: event, secret: 'hmac-key', policy: open });

    expect(result).toMatchObject({ ok: true, status_code: 204, error: null });
    expect(result.duration_ms).toBeGreaterThanOrEqual(0);
    const received = receiver.requests[0];
    expect(received?.method).toBe('POST');
    expect(received?.headers['content-type']).toBe('application/json');
    expect(received?.headers['user-agent']).toBe('vigil');
    expect(JSON.parse(received?.body.toString() ?? '')).toEqual(event);

    const header = received?.headers['x-vigil-signature'];
    expect(header).toMatch(/^sha256=[0-9a-f]{64}$/);
    const raw = received?.body ?? Buffer.alloc(0);
    expect(verifySignature('hmac-key', raw, header as string)).toBe(true);
    expect(verifySignature('hmac-key', raw.toString('utf8'), header as string)).toBe(true);
    expect(verifySignature('wrong-key', raw, header as string)).toBe(false);
    expect(verifySignature('hmac-key', raw.toString('utf8').replace('42', '43'), header as string)).toBe(false);
  });

  it('sends no signature without a secret', async () => {
    const receiver = await serve((_req, res) => reply(res, 200));
    await deliverWebhook({ url: receiver.origin, body: event, policy: open });
    expect(receiver.requests[0]?.headers['x-vigil-signature']).toBeUndefined();
  });

  it('reports a non-2xx answer as a failed delivery', async () => {
    const receiver = await serve((_req, res) => reply(res, 500, 'boom'));
    const result = await deliverWebhook({ url: receiver.origin, body: event, policy: open });
    expect(result).toMatchObject({ ok: false, status_code: 500, error: 'receiver answered 500' });
  });

  it('does not follow a redirect', async () => {
    const other = await serve((_req, res) => reply(res, 200));
    const receiver = await serve((_req, res) => reply(res, 307, '', { location: `${other.origin}/` }));
    const result = await deliverWebhook({ url: receiver.origin, body: event, secret: 's', policy: open });
    expect(result).toMatchObject({ ok: false, status_code: 307 });
    expect(other.requests).toHaveLength(0);
  });

  it('resolves, never throws, when the receiver is down', async () => {
    const port = await closedPort();
    const result = await deliverWebhook({ url: `http://127.0.0.1:${port}/hook`, body: event, secret: 's', policy: open });
    expect(result.ok).toBe(false);
    expect(result.status_code).toBeNull();
    expect(result.error).toContain('ECONNREFUSED');
  });

  it('reports its own timeout as a failed delivery', async () => {
    const receiver = await serve(() => {
      // Never answers.
    });
    const started = Date.now();
    const result = await deliverWebhook({ url: receiver.origin, body: event, policy: open, timeoutMs: 200 });
    expect(result).toMatchObject({ ok: false, status_code: null, error: 'timed out after 200 ms' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('reports a denied receiver as a failed delivery without contacting it', async () => {
    const receiver = await serve((_req, res) => reply(res, 200));
    const denyLoopback = new OutboundPolicy(['127.0.0.0/8']);
    try {
      const result = await deliverWebhook({ url: receiver.origin, body: event, policy: denyLoopback });
      expect(result.ok).toBe(false);
      expect(result.error).toContain('denied by APP_HTTP_DENY_CIDRS');
      expect(receiver.connections()).toBe(0);
    } finally {
      await denyLoopback.close();
    }
  });

  it('reports a URL it cannot use as a failed delivery', async () => {
    const result = await deliverWebhook({ url: 'not a url', body: event, policy: open });
    expect(result).toMatchObject({ ok: false, status_code: null });
    expect(result.error).toContain('Invalid URL');
  });

  it('rethrows when its signal aborts', async () => {
    const receiver = await serve(() => {
      // Never answers.
    });
    const controller = new AbortController();
    const reason = new Error('shutting down');
    setTimeout(() => controller.abort(reason), 50);
    await expect(deliverWebhook({ url: receiver.origin, body: event, policy: open, signal: controller.signal })).rejects.toBe(reason);
  });
});

describe('signBody and verifySignature', () => {
  it('sign the exact bytes with HMAC-SHA256', () => {
    // Reference value: printf '{"a":1}' | openssl dgst -sha256 -hmac key
    expect(signBody('key', '{"a":1}')).toBe('sha256=88a67f24bbcdaed0e6c997404bb79a743baf44c6bab2f4c27328e3009d22e342');
  });

  it('reject missing and malformed headers', () => {
    const body = '{"a":1}';
    const good = signBody('key', body);
    expect(verifySignature('key', body, good)).toBe(true);
    expect(verifySignature('key', body, good.toUpperCase().replace('SHA256=', 'sha256='))).toBe(true);
    expect(verifySignature('key', body, undefined)).toBe(false);
    expect(verifySignature('key', body, null)).toBe(false);
    expect(verifySignature('key', body, '')).toBe(false);
    expect(verifySignature('key', body, good.replace('sha256=', 'sha1='))).toBe(false);
    expect(verifySignature('key', body, good.slice(0, -2))).toBe(false);
    expect(verifySignature('key', `${body} `, good)).toBe(false);
  });
});
