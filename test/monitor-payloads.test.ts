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
});
