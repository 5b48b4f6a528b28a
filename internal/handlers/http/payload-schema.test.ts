import { describe, expect, it } from 'vitest';
import { OutboundPolicy } from '../outbound/outbound-policy.js';
import { HandlerRegistry } from '../registry.js';
import { createHttpType } from './http-type.js';
import { httpPayloadSchema } from './payload-schema.js';

/** Issues as the registry reports them to the API: dotted path → message. */
function issues(payload: unknown): Record<string, string> {
  const result = httpPayloadSchema.safeParse(payload);
  if (result.success) return {};
  return Object.fromEntries(result.error.issues.map((i) => [i.path.map(String).join('.'), i.message]));
}

/** Just the field names, so that a message at the parent cannot pass for one at the child. */
function fields(payload: unknown): string[] {
  return Object.keys(issues(payload));
}

const url = 'https://example.com/feed.json';

describe('httpPayloadSchema', () => {
  it('fills in the defaults', () => {
    expect(httpPayloadSchema.parse({ url })).toEqual({
      url,
      method: 'GET',
      expect_status: { min: 200, max: 399 },
      max_body_bytes: 1_048_576,
    });
  });

  it('takes its own output back unchanged (the store keeps the parsed payload)', () => {
    const full = {
      url,
      method: 'POST',
      headers: { Authorization: 'Bearer x' },
      body: '{}',
      expect_status: [200, 204],
      match: { regex: '^ok', flags: 'i' },
      items: { path: '/items', id: 'id' },
      max_body_bytes: 2048,
      request_timeout_ms: 5000,
    };
    const once = httpPayloadSchema.parse(full);
    expect(once).toEqual(full);
    expect(httpPayloadSchema.parse(JSON.parse(JSON.stringify(once)))).toEqual(once);
  });

  it('accepts each form of match and expect_status', () => {
    for (const match of ['ok', { substring: 'ok' }, { regex: 'o+k' }, { regex: 'ok', flags: 'is' }]) {
      expect(issues({ url, match }), JSON.stringify(match)).toEqual({});
    }
    for (const expect_status of [[200], [200, 301, 503], { min: 200, max: 200 }, { min: 100, max: 599 }]) {
      expect(issues({ url, expect_status }), JSON.stringify(expect_status)).toEqual({});
    }
    expect(issues({ url, items: { path: '', id: 'id' } })).toEqual({});
  });

  it('refuses schemes other than http and https, naming url', () => {
    expect(issues({ url: 'ftp://example.com/x' })).toEqual({ url: 'must use http or https, not ftp' });
    expect(issues({ url: 'file:///etc/passwd' })).toEqual({ url: 'must use http or https, not file' });
    expect(issues({ url: 'example.com' })).toEqual({ url: 'must be an absolute URL such as https://example.com/health' });
    expect(fields({ url: 'https://user:pw@example.com/' })).toEqual(['url']);
  });

  it('refuses a regex that does not compile, naming match.regex', () => {
    expect(issues({ url, match: { regex: '(' } })).toEqual({ 'match.regex': 'is not a valid regular expression: /(/: Unterminated group' });
    expect(fields({ url, match: { regex: 'a', flags: 'g' } })).toEqual(['match.flags']);
    expect(fields({ url, match: { regex: 'a', flags: 'ii' } })).toEqual(['match.flags']);
    expect(issues({ url, match: { substring: 'a', regex: 'b' } })).toEqual({ match: 'must have exactly one of substring or regex' });
    expect(issues({ url, match: { substring: 'a', flags: 'i' } })).toEqual({ 'match.flags': 'only applies to regex' });
    expect(fields({ url, match: 5 })).toEqual(['match']);
  });

  it('refuses a malformed JSON pointer, naming items.path', () => {
    expect(issues({ url, items: { path: 'abc', id: 'id' } })).toEqual({
      'items.path': "must be a JSON pointer: empty, or starting with '/' (like /items)",
    });
    expect(issues({ url, items: { path: '/a~2b', id: 'id' } })).toEqual({
      'items.path': "must be a JSON pointer: '~' may only appear as ~0 or ~1",
    });
    expect(fields({ url, items: { path: '/items' } })).toEqual(['items.id']);
  });

  it('refuses unknown fields at their own path, at every level', () => {
    expect(issues({ url, bogus: 1 })).toEqual({ bogus: 'is not a known field' });
    expect(issues({ url, items: { path: '/x', id: 'id', extra: true } })).toEqual({ 'items.extra': 'is not a known field' });
    expect(issues({ url, match: { regex: 'a', bogus: 1 } })).toEqual({ 'match.bogus': 'is not a known field' });
    expect(issues({ url, expect_status: { min: 200, max: 299, step: 1 } })).toEqual({ 'expect_status.step': 'is not a known field' });
  });

  it('refuses bad statuses, methods, sizes and headers', () => {
    expect(fields({ url, expect_status: [99] })).toEqual(['expect_status.0']);
    expect(issues({ url, expect_status: { min: 400, max: 200 } })).toEqual({ 'expect_status.max': 'min must not be greater than max' });
    expect(fields({ url, expect_status: [] })).toEqual(['expect_status']);
    expect(fields({ url, method: 'TRACE' })).toEqual(['method']);
    expect(fields({ url, max_body_bytes: 0 })).toEqual(['max_body_bytes']);
    expect(fields({ url, max_body_bytes: 16 * 1_048_576 + 1 })).toEqual(['max_body_bytes']);
    expect(fields({ url, request_timeout_ms: 1.5 })).toEqual(['request_timeout_ms']);
    expect(fields({ url, headers: { Host: 'evil' } })).toEqual(['headers.Host']);
    expect(fields({ url, headers: { 'bad name': 'x' } })).toEqual(['headers.bad name']);
    expect(fields({ url, headers: { 'X-A': 'a\r\nX-B: b' } })).toEqual(['headers.X-A']);
    expect(issues({ url, body: 'x' })).toEqual({ body: 'is not allowed with GET' });
  });
});

describe('HandlerRegistry with the http type', () => {
  it('reports payload problems with paths the API turns into payload.<field>', async () => {
    const policy = new OutboundPolicy();
    try {
      const registry = new HandlerRegistry().register(createHttpType({ policy }));
      expect(registry.names()).toEqual(['http']);
      const check = registry.checkPayload('http', { url: 'ftp://x/', match: { regex: '(' }, items: { path: 'abc', id: 'id' }, nope: 1 });
      expect(check.ok).toBe(false);
      if (!check.ok) {
        expect(check.issues.map((i) => i.path).sort()).toEqual(['items.path', 'match.regex', 'nope', 'url']);
      }
      const good = registry.checkPayload('http', { url: 'http://127.0.0.1/' });
      expect(good).toEqual({ ok: true, payload: { url: 'http://127.0.0.1/', method: 'GET', expect_status: { min: 200, max: 399 }, max_body_bytes: 1_048_576 } });
    } finally {
      await policy.close();
    }
  });
});
