import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../internal/app/index.js';
import { getJson } from './support/sched-fixture.js';
import { type TestStore, createTestStore } from './support/services.js';
import { startTestApp } from './support/test-app.js';

/**
 * `POST /tasks` with an `http` payload, against the embedded SQLite store and no Redis: each kind of bad payload
 * is refused with a 400 that names the field, nothing is stored for it, and a good payload is stored with its
 * defaults filled in.
 */

interface ErrorBody {
  error: { code: string; message: string; fields: Record<string, string> };
}

describe('http task payloads at POST /tasks (SQLite, no Redis)', () => {
  let ts: TestStore;
  let app: App;
  let url: string;

  beforeAll(async () => {
    ts = await createTestStore('sqlite', 'monitor_payloads');
    // The scheduler stays out: these tests are about what the API accepts, and the targets do not exist.
    ({ app, url } = await startTestApp({ storeEnv: ts.env, env: { APP_RUN_SCHEDULER: 'false' } }));
  });

  afterAll(async () => {
    await app?.stop();
    await ts?.cleanup();
  });

  function post(body: Record<string, unknown>): Promise<Response> {
    return fetch(`${url}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  }

  const task = (payload: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    name: 'payload check',
    type: 'http',
    payload,
    schedule: { every: 60 },
    ...extra,
  });

  async function taskCount(): Promise<number> {
    const row = await ts.store.db
      .selectFrom('tasks')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  const cases: { name: string; body: Record<string, unknown>; field: string; message: RegExp }[] = [
    { name: 'a URL scheme other than http(s)', body: task({ url: 'ftp://x' }), field: 'payload.url', message: /http or https/ },
    { name: 'a URL that is not absolute', body: task({ url: 'example.com/health' }), field: 'payload.url', message: /absolute URL/ },
    { name: 'a regex that does not compile', body: task({ url: 'http://127.0.0.1/', match: { regex: '(' } }), field: 'payload.match.regex', message: /not a valid regular expression/ },
    { name: 'an items.path that is not a JSON pointer', body: task({ url: 'http://127.0.0.1/', items: { path: 'abc', id: 'id' } }), field: 'payload.items.path', message: /JSON pointer/ },
    { name: 'an unknown payload field', body: task({ url: 'http://127.0.0.1/', foo: 1 }), field: 'payload.foo', message: /not a known field/ },
    { name: 'an unknown field inside items', body: task({ url: 'http://127.0.0.1/', items: { path: '/items', id: 'id', extra: true } }), field: 'payload.items.extra', message: /not a known field/ },
    { name: 'a notify webhook_url that is not http(s)', body: task({ url: 'http://127.0.0.1/' }, { notify: { webhook_url: 'not a url', on: ['down'] } }), field: 'notify.webhook_url', message: /http or https URL/ },
    { name: 'a notify event that does not exist', body: task({ url: 'http://127.0.0.1/' }, { notify: { webhook_url: 'http://127.0.0.1/hook', on: ['sideways'] } }), field: 'notify.on.0', message: /.+/ },
    { name: 'an items form that is none of JSON, HTML or feed', body: task({ url: 'http://127.0.0.1/', items: { css: 'li' } }), field: 'payload.items', message: /\{"feed": true\}/ },
    { name: 'an items.selector that is not CSS', body: task({ url: 'http://127.0.0.1/', items: { selector: 'li[' } }), field: 'payload.items.selector', message: /not a valid CSS selector/ },
    { name: 'an HTML item field attr that is not an attribute name', body: task({ url: 'http://127.0.0.1/', items: { selector: 'li', fields: { url: { selector: 'a', attr: 'a b' } } } }), field: 'payload.items.fields.url.attr', message: /attribute name/ },
    { name: 'items.feed that is not true', body: task({ url: 'http://127.0.0.1/', items: { feed: 'yes' } }), field: 'payload.items.feed', message: /must be true/ },
    { name: 'a JSON condition with an unknown op', body: task({ url: 'http://127.0.0.1/', json: [{ path: '/a', op: 'like', value: 1 }] }), field: 'payload.json.0.op', message: /eq, ne, lt/ },
    { name: 'a JSON condition comparing a string by lt', body: task({ url: 'http://127.0.0.1/', json: [{ path: '/a', op: 'eq', value: 1 }, { path: '/b', op: 'lt', value: 'x' }] }), field: 'payload.json.1.value', message: /number/ },
    { name: 'an expected header pattern that does not compile', body: task({ url: 'http://127.0.0.1/', expect_headers: { 'content-type': { regex: '(' } } }), field: 'payload.expect_headers.content-type.regex', message: /regular expression/ },
    { name: 'a negative tls.min_days_left', body: task({ url: 'https://127.0.0.1/', tls: { min_days_left: -1 } }), field: 'payload.tls.min_days_left', message: /at least 0/ },
    { name: 'a tls.ca that is not PEM', body: task({ url: 'https://127.0.0.1/', tls: { ca: 'trust me' } }), field: 'payload.tls.ca', message: /PEM/ },
    { name: 'a max_latency_ms of zero', body: task({ url: 'http://127.0.0.1/', max_latency_ms: 0 }), field: 'payload.max_latency_ms', message: /at least 1/ },
  ];

  it.each(cases)('refuses $name with 400 naming $field', async ({ body, field, message }) => {
    const before = await taskCount();
    const res = await post(body);
    const json = (await res.json()) as ErrorBody;

    expect(res.status).toBe(400);
    expect(json.error.code).toBe('validation_failed');
    expect(Object.keys(json.error.fields)).toEqual([field]);
    expect(json.error.fields[field]).toMatch(message);
    expect(await taskCount()).toBe(before);
  });

  it('reports every bad field of one request at once', async () => {
    const res = await post(task({ url: 'ftp://x', match: { regex: '(' }, items: { path: 'abc', id: 'id' }, foo: 1 }));
    const json = (await res.json()) as ErrorBody;
    expect(res.status).toBe(400);
    expect(Object.keys(json.error.fields).sort()).toEqual(['payload.foo', 'payload.items.path', 'payload.match.regex', 'payload.url']);
  });

  it('accepts a valid http task with 201 and stores it with its defaults', async () => {
    const res = await post(
      task(
        { url: 'http://127.0.0.1:9/feed.json', match: { regex: 'items?', flags: 'i' }, items: { path: '/data/items', id: 'id' } },
        { notify: { webhook_url: 'http://127.0.0.1:9/hook', on: ['down', 'up', 'changed', 'new_items'] } },
      ),
    );
    const created = (await res.json()) as { id: number; queued_via: string; up: boolean | null; payload: Record<string, unknown> };
    expect(res.status, JSON.stringify(created)).toBe(201);
    expect(created.up).toBeNull();
    expect(created.payload).toEqual({
      url: 'http://127.0.0.1:9/feed.json',
      method: 'GET',
      expect_status: { min: 200, max: 399 },
      match: { regex: 'items?', flags: 'i' },
      items: { path: '/data/items', id: 'id' },
      max_body_bytes: 1_048_576,
    });
    const read = await getJson<{ payload: unknown; notify: unknown }>(`${url}/tasks/${created.id}`);
    expect(read.body.payload).toEqual(created.payload);
    expect(read.body.notify).toEqual({ webhook_url: 'http://127.0.0.1:9/hook', on: ['down', 'up', 'changed', 'new_items'] });
  });

  it('accepts HTML and feed items, every check, and cert_expiring in notify.on, storing them as sent', async () => {
    const checks = {
      max_latency_ms: 2000,
      tls: { min_days_left: 14 },
      json: [
        { path: '/status', op: 'eq', value: 'ok' },
        { path: '/queue/depth', op: 'lt', value: 100 },
        { path: '/tags', op: 'contains', value: 'eu' },
        { path: '/maintenance', op: 'exists', value: false },
        { path: '/version', op: 'matches', value: '^2\\.', flags: 'i' },
      ],
      expect_headers: { 'content-type': { regex: '^application/json' }, 'x-region': 'eu' },
    };
    const html = {
      selector: 'li.item',
      id: { selector: 'a', attr: 'href' },
      fields: { title: '.name', price: { selector: '.price', attr: 'data-value' }, url: { selector: 'a', attr: 'href' } },
    };
    for (const payload of [{ url: 'https://127.0.0.1:9/health', ...checks }, { url: 'http://127.0.0.1:9/list', items: html }, { url: 'http://127.0.0.1:9/feed', items: { feed: true } }]) {
      const res = await post(task(payload, { notify: { webhook_url: 'http://127.0.0.1:9/hook', on: ['down', 'cert_expiring', 'new_items'] } }));
      const created = (await res.json()) as { payload: Record<string, unknown>; notify: unknown };
      expect(res.status, JSON.stringify(created)).toBe(201);
      expect(created.payload).toEqual({ method: 'GET', expect_status: { min: 200, max: 399 }, max_body_bytes: 1_048_576, ...payload });
      expect(created.notify).toEqual({ webhook_url: 'http://127.0.0.1:9/hook', on: ['down', 'cert_expiring', 'new_items'] });
    }
  });

  it('refuses a browser task in a process without Chromium, saying where it looked and what to set', async () => {
    const other = await startTestApp({ storeEnv: ts.env, env: { APP_RUN_SCHEDULER: 'false', APP_BROWSER_PATH: '/nonexistent/chromium' } });
    try {
      const res = await fetch(`${other.url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'rendered', type: 'browser', payload: { url: 'http://127.0.0.1:9/' }, schedule: { every: 60 } }),
      });
      const json = (await res.json()) as ErrorBody;
      expect(res.status).toBe(400);
      expect(json.error.fields).toEqual({
        type: '"browser" is not available in this service: no Chromium found at /nonexistent/chromium (APP_BROWSER_PATH); install chromium or point APP_BROWSER_PATH at it',
      });
      expect(other.app.registry.has('browser')).toBe(false);
    } finally {
      await other.app.stop();
    }
  });
});
