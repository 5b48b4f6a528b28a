import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../cmd/vigil/cli.js';
import { EXIT } from '../cmd/vigil/errors.js';
import type { App } from '../internal/app/index.js';
import { type TestStore, createTestStore } from './support/services.js';
import { startTestApp } from './support/test-app.js';

/**
 * Monitors as code against a real API on MariaDB: `vigil apply` and `vigil export`, and the task key they rest on.
 * The scheduler is off, so the http monitors are only stored, never fetched.
 */

let testStore: TestStore;
let app: App;
let url: string;
let dir: string;

beforeAll(async () => {
  testStore = await createTestStore('mysql', 'cli_apply');
  ({ app, url } = await startTestApp({ storeEnv: testStore.env, env: { APP_RUN_SCHEDULER: 'false' } }));
  dir = mkdtempSync(join(tmpdir(), 'vigil-apply-'));
});

afterAll(async () => {
  await app?.stop();
  await testStore?.cleanup();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

async function vigil(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(
    args,
    { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } },
    { VIGIL_URL: url },
  );
  return { code, stdout, stderr };
}

interface ApplyOutput {
  dry_run: boolean;
  plan: { action: string; key: string; id: number | null; fields?: string[] }[];
  summary: { create: number; update: number; delete: number; unchanged: number; kept: number };
  results?: { action: string; key: string; id: number; ok: boolean; note?: string }[];
}

async function apply(file: string, ...flags: string[]): Promise<ApplyOutput> {
  const res = await vigil(['apply', '-f', file, '--json', ...flags]);
  expect(res.code, res.stderr).toBe(EXIT.ok);
  return JSON.parse(res.stdout) as ApplyOutput;
}

function writeMonitors(name: string, monitors: Record<string, unknown>[]): string {
  const file = join(dir, name);
  writeFileSync(file, stringify({ monitors }));
  return file;
}

/** An http monitor as a person writes it: only some fields, the payload's defaults left out. */
function monitor(i: number, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    key: `site-${String(i).padStart(2, '0')}`,
    name: `site ${i}`,
    type: 'http',
    schedule: i % 5 === 0 ? { cron: `${i % 60} * * * *`, tz: 'Europe/Paris' } : { every: 60 + i },
    payload: { url: `http://127.0.0.1:9/health/${i}` },
    ...(i % 7 === 0 ? { priority: 5, notify: { webhook_url: 'https://hooks.example/vigil', on: ['down', 'up'] } } : {}),
    ...over,
  };
}

async function tasksByKey(): Promise<Map<string, { id: number; name: string; schedule: unknown; count: number }>> {
  const rows = await testStore.store.db.selectFrom('tasks').select(['id', 'key', 'name', 'schedule_every']).execute();
  const map = new Map<string, { id: number; name: string; schedule: unknown; count: number }>();
  for (const row of rows) {
    if (row.key === null) continue;
    const seen = map.get(row.key);
    map.set(row.key, { id: Number(row.id), name: row.name, schedule: row.schedule_every, count: (seen?.count ?? 0) + 1 });
  }
  return map;
}

describe('the task key over the API', () => {
  it('is unique: a second create with it answers 409 naming the field, and ?key= finds the task', async () => {
    const body = { name: 'keyed', key: 'api-keyed', type: 'noop', schedule: { every: 60 } };
    const first = await post('/tasks', body);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ key: 'api-keyed' });
    const second = await post('/tasks', { ...body, name: 'again' });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ error: { code: 'conflict', fields: { key: `is already used by task ${first.body.id}` } } });
    const listed = (await (await fetch(`${url}/tasks?key=api-keyed`)).json()) as { items: { id: number }[] };
    expect(listed.items.map((t: { id: number }) => t.id)).toEqual([first.body.id]);

    const other = await post('/tasks', { ...body, key: 'api-other' });
    const clash = await fetch(`${url}/tasks/${other.body.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key: 'api-keyed' }),
    });
    expect(clash.status).toBe(409);
    expect(((await clash.json()) as { error: { fields: object } }).error.fields).toHaveProperty('key');
    expect((await post('/tasks', { name: 'keyless', type: 'noop', schedule: { every: 60 } })).body).toMatchObject({ key: null });
    const bad = await post('/tasks', { ...body, key: 'has space' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toHaveProperty('key');
  });

  it('POST /tasks/validate answers the task as it would be stored, or the 400 a create would get, and creates nothing', async () => {
    const before = (await tasksByKey()).size;
    const ok = await post('/tasks/validate', { name: 'v', key: 'validate-me', type: 'http', schedule: { every: 60 }, payload: { url: 'http://127.0.0.1:9/' } });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({
      name: 'v',
      key: 'validate-me',
      type: 'http',
      payload: expect.objectContaining({ url: 'http://127.0.0.1:9/', method: 'GET' }),
      schedule: { every: 60 },
      priority: 3,
      timeout_ms: 30_000,
      max_attempts: 3,
      status: 'running',
      notify: null,
    });
    const bad = await post('/tasks/validate', { name: 'v', type: 'http', schedule: { every: 60 }, payload: {} });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toHaveProperty(['payload.url']);
    expect((await tasksByKey()).size).toBe(before);
  });
});

describe('vigil apply and export', () => {
  const fifty = Array.from({ length: 50 }, (_, i) => monitor(i + 1));

  it('applies 50 monitors to a server that has none of them, printing the plan first', async () => {
    const file = writeMonitors('fifty.yaml', fifty);
    const dry = await apply(file, '--dry-run');
    expect(dry.dry_run).toBe(true);
    expect(dry.summary).toMatchObject({ create: 50, update: 0, delete: 0, unchanged: 0 });
    expect([...(await tasksByKey()).keys()].filter((k) => k.startsWith('site-'))).toEqual([]);

    const human = await vigil(['apply', '-f', file]);
    expect(human.code, human.stderr).toBe(EXIT.ok);
    expect(human.stdout).toMatch(/^Plan for .*fifty\.yaml:$/m);
    expect(human.stdout).toMatch(/^ {2}\+ site-01\s+create \(http, every 61s\)$/m);
    expect(human.stdout).toContain('Plan: 50 to create, 0 to update, 0 to delete, 0 unchanged.');
    expect(human.stdout).toContain('Applied: 50 created, 0 updated, 0 deleted.');
    const byKey = await tasksByKey();
    for (const m of fifty) expect(byKey.get(m.key as string)?.count, String(m.key)).toBe(1);
  });

  it('changes nothing when the same file is applied again (defaults the file leaves out are not changes)', async () => {
    const again = await apply(writeMonitors('fifty.yaml', fifty));
    expect(again.summary).toMatchObject({ create: 0, update: 0, delete: 0, unchanged: 50 });
    expect(again.results).toEqual([]);
  });

  it('applies an edit: one update, one new, one removed with --prune; without --prune the removed one is kept', async () => {
    const edited = [...fifty.slice(0, 49).map((m, i) => (i === 9 ? { ...m, schedule: { every: 3600 }, name: 'site 10 hourly' } : m)), monitor(51)];
    const file = writeMonitors('edited.yaml', edited);
    const kept = await apply(file, '--dry-run');
    // site-50, and the two keyed tasks the API tests above made, are on the server but not in the file.
    expect(kept.summary).toMatchObject({ create: 1, update: 1, delete: 0, unchanged: 48, kept: 3 });
    expect(kept.plan.find((s) => s.action === 'update')).toMatchObject({ key: 'site-10', fields: ['name', 'schedule'] });

    const before = await tasksByKey();
    const out = await apply(file, '--prune');
    expect(out.summary).toMatchObject({ create: 1, update: 1, delete: 3, unchanged: 48 });
    expect(out.results?.every((r) => r.ok)).toBe(true);
    const after = await tasksByKey();
    expect(after.get('site-10')).toMatchObject({ id: before.get('site-10')?.id, name: 'site 10 hourly', schedule: 3600 });
    expect(after.get('site-51')?.count).toBe(1);
    expect(after.has('site-50')).toBe(false);
    // --prune deletes every keyed task not in the file, whoever made it; tasks without a key are never touched.
    expect(after.has('api-keyed')).toBe(false);
    const keyless = await testStore.store.db.selectFrom('tasks').select('id').where('key', 'is', null).execute();
    expect(keyless.length).toBeGreaterThan(0);
  });

  it('export then apply changes nothing', async () => {
    const exported = await vigil(['export']);
    expect(exported.code, exported.stderr).toBe(EXIT.ok);
    expect(exported.stdout).toMatch(/^monitors:$/m);
    const file = join(dir, 'exported.yaml');
    writeFileSync(file, exported.stdout);
    const out = await apply(file, '--prune');
    expect(out.summary).toMatchObject({ create: 0, update: 0, delete: 0 });
    expect(out.summary.unchanged).toBe((await tasksByKey()).size);
  });

  it('two applies at once make no duplicates; the server decides and the loser adopts the winner’s task', async () => {
    const twenty = Array.from({ length: 20 }, (_, i) => monitor(100 + i));
    const file = writeMonitors('race.yaml', twenty);
    const [a, b] = await Promise.all([vigil(['apply', '-f', file, '--json']), vigil(['apply', '-f', file, '--json'])]);
    expect(a.code, a.stderr).toBe(EXIT.ok);
    expect(b.code, b.stderr).toBe(EXIT.ok);
    const byKey = await tasksByKey();
    for (const m of twenty) expect(byKey.get(m.key as string)?.count, String(m.key)).toBe(1);
    const results = [a, b].flatMap((r) => (JSON.parse(r.stdout) as ApplyOutput).results ?? []);
    expect(results.every((r) => r.ok)).toBe(true);
    expect((await apply(file)).summary).toMatchObject({ create: 0, update: 0, unchanged: 20 });
  });

  it('refuses a file the server finds invalid, with each problem at its line, and changes nothing', async () => {
    const before = await tasksByKey();
    const file = join(dir, 'invalid.yaml');
    writeFileSync(
      file,
      ['monitors:', '  - key: bad-one', '    name: bad', '    type: http', '    schedule:', '      every: 0', '    payload: {}', '  - key: bad-two', '    name: also bad', '    type: nope', '    schedule: { every: 60 }', ''].join('\n'),
    );
    const res = await vigil(['apply', '-f', file]);
    expect(res.code).toBe(EXIT.usage);
    expect(res.stderr).toContain('nothing was changed');
    expect(res.stderr).toContain(`${file}:6: monitors[0].schedule.every (bad-one): must be at least 1 second`);
    expect(res.stderr).toMatch(new RegExp(`${file}:\\d+: monitors\\[0\\]\\.payload\\.url \\(bad-one\\)`));
    expect(res.stderr).toMatch(new RegExp(`${file}:10: monitors\\[1\\]\\.type \\(bad-two\\): "nope" is not a registered task type`));
    expect(await tasksByKey()).toEqual(before);
  });
});

async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}
