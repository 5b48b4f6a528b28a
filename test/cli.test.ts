import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cmd/vigil/cli.js';
import { EXIT } from '../cmd/vigil/errors.js';
import type { App } from '../internal/app/index.js';
import { type LocalServer, reply, startServer } from '../internal/handlers/outbound/test-support.js';
import { deleteStreams } from './support/children.js';
import { type TestStore, createTestStore, uniqueName, waitFor } from './support/services.js';
import { startTestApp } from './support/test-app.js';

/**
 * The `vigil` command against a real API (in-process, MariaDB and Redis streams): every command, its --json output
 * parsed, its exit code checked. The command runs in-process through runCli (the same function main.ts calls), and
 * once as a real process through its entry point.
 */

const WRITE_TOKEN = 'cli-write-S3cret';
const READ_TOKEN = 'cli-read-S3cret';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let testStore: TestStore;
let app: App;
let url: string;
const stream = uniqueName('cli');

beforeAll(async () => {
  testStore = await createTestStore('mysql', 'cli');
  ({ app, url } = await startTestApp({
    storeEnv: testStore.env,
    stream,
    env: { APP_API_TOKENS: `ops:${WRITE_TOKEN}:write,dash:${READ_TOKEN}:read` },
  }));
});

afterAll(async () => {
  await app?.stop();
  await deleteStreams(stream);
  await testStore?.cleanup();
});

async function vigil(args: string[], token: string | undefined = WRITE_TOKEN): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(
    args,
    { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } },
    { VIGIL_URL: url, VIGIL_TOKEN: token },
  );
  return { code, stdout, stderr };
}

async function vigilJson<T = Record<string, unknown>>(args: string[], token?: string): Promise<T> {
  const res = await vigil([...args, '--json'], token);
  expect(res.code, res.stderr).toBe(EXIT.ok);
  return JSON.parse(res.stdout) as T;
}

describe('vigil tasks', () => {
  it('creates, lists, reads, edits, pauses, resumes, runs and deletes a task, by id and by key', async () => {
    const created = await vigilJson<{ id: number; key: string; schedule: unknown; queued_via: string }>([
      'tasks', 'create', '--name', 'cli task', '--type', 'count', '--every', '1h', '--key', 'cli-task', '--priority', '4',
    ]);
    expect(created).toMatchObject({ key: 'cli-task', schedule: { every: 3600 }, priority: 4 });
    expect(['stream', 'direct', 'poll']).toContain(created.queued_via);

    const human = await vigil(['tasks', 'ls']);
    expect(human.code).toBe(EXIT.ok);
    expect(human.stdout.split('\n')[0]).toMatch(/^ID\s+KEY\s+NAME\s+TYPE\s+SCHEDULE\s+STATUS/);
    expect(human.stdout).toMatch(new RegExp(`^${created.id}\\s+cli-task\\s+cli task\\s+count\\s+every 1h\\s+running`, 'm'));

    const list = await vigilJson<{ items: { id: number }[]; next_cursor: string | null }>(['tasks', 'ls', '--key', 'cli-task']);
    expect(list.items.map((t) => t.id)).toEqual([created.id]);
    expect(list.next_cursor).toBeNull();

    expect(await vigilJson(['tasks', 'get', 'cli-task'])).toMatchObject({ id: created.id, name: 'cli task' });
    expect((await vigil(['tasks', 'get', String(created.id)])).stdout).toMatch(/^key:\s+cli-task$/m);

    const edited = await vigilJson(['tasks', 'edit', 'cli-task', '--cron', '0 9 * * 1-5', '--tz', 'Asia/Tokyo', '--name', 'renamed']);
    expect(edited).toMatchObject({ name: 'renamed', schedule: { cron: '0 9 * * 1-5', tz: 'Asia/Tokyo' } });
    expect(await vigilJson(['tasks', 'pause', 'cli-task'])).toMatchObject({ status: 'paused' });
    expect(await vigilJson(['tasks', 'resume', String(created.id)])).toMatchObject({ status: 'running' });

    const run = await vigilJson<{ id: number; queued_via: string }>(['tasks', 'run', 'cli-task']);
    expect(run.id).toBe(created.id);
    await waitFor(async () => (await vigilJson<{ items: unknown[] }>(['runs', 'cli-task'])).items.length >= 1, { message: 'a run' });
    const runs = await vigil(['runs', String(created.id)]);
    expect(runs.stdout.split('\n')[0]).toMatch(/^ID\s+SLOT\s+ATTEMPT\s+SOURCE\s+STATUS/);

    expect(await vigilJson(['tasks', 'edit', 'cli-task', '--no-key'])).toMatchObject({ key: null });
    expect(await vigilJson(['tasks', 'rm', String(created.id)])).toEqual({ deleted: created.id });
    const gone = await vigil(['tasks', 'get', String(created.id)]);
    expect(gone.code).toBe(EXIT.notFound);
    expect(gone.stderr).toContain(`task ${created.id} does not exist`);
  });

  it('creates from a file, with options overriding it', async () => {
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'vigil-cli-')), 'task.yaml');
    writeFileSync(file, 'name: from file\ntype: count\nschedule: { every: 600 }\nmax_attempts: 5\n');
    const task = await vigilJson(['tasks', 'create', '-f', file, '--name', 'from options', '--paused']);
    expect(task).toMatchObject({ name: 'from options', max_attempts: 5, status: 'paused', schedule: { every: 600 } });
  });

  it('shows a 400 with the field it names, and exits 1', async () => {
    const res = await vigil(['tasks', 'create', '--name', 'bad', '--type', 'count', '--every', '0']);
    expect(res.code).toBe(EXIT.failed);
    expect(res.stderr).toContain('HTTP 400 validation_failed');
    expect(res.stderr).toMatch(/^ {2}schedule\.every: must be at least 1 second$/m);

    const asJson = await vigil(['tasks', 'create', '--name', 'bad', '--type', 'nope', '--every', '60', '--json']);
    expect(asJson.code).toBe(EXIT.failed);
    expect(asJson.stdout).toBe('');
    const body = JSON.parse(asJson.stderr) as { status: number; error: { code: string; fields: Record<string, string> } };
    expect(body.status).toBe(400);
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.fields.type).toContain('is not a registered task type');
  });

  it('exits 2 on a bad command line, naming the flag, without calling the API', async () => {
    for (const args of [
      ['tasks', 'create', '--name', 'x', '--type', 'count', '--every', 'soon'],
      ['tasks', 'create', '--payload', '{nope', '--name', 'x'],
      ['tasks', 'ls', '--limit', '0'],
      ['tasks', 'edit', '1'],
      ['tasks', 'frobnicate'],
      ['dead', 'replay', 'abc'],
    ]) {
      const res = await vigil(args);
      expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(EXIT.usage);
      expect(res.stderr).not.toBe('');
    }
    expect((await vigil(['tasks', 'create', '--every', 'soon'])).stderr).toContain('--every');
  });

  it('exits 4 for a key no task has, and 0 with help', async () => {
    expect((await vigil(['tasks', 'get', 'no-such-key'])).code).toBe(EXIT.notFound);
    const help = await vigil(['--help']);
    expect(help.code).toBe(EXIT.ok);
    expect(help.stdout).toContain('Exit codes:');
  });
});

describe('vigil with tokens', () => {
  it('exits 5 without a token, and with a read token on a change; a read token reads', async () => {
    const none = await vigil(['tasks', 'ls'], '');
    expect(none.code).toBe(EXIT.denied);
    expect(none.stderr).toContain('unauthorized');
    const denied = await vigil(['tasks', 'create', '--name', 'r', '--type', 'count', '--every', '60'], READ_TOKEN);
    expect(denied.code).toBe(EXIT.denied);
    expect(denied.stderr).toContain('token "dash" has the read scope');
    expect(denied.stderr).not.toContain(READ_TOKEN);
    expect((await vigil(['tasks', 'ls'], READ_TOKEN)).code).toBe(EXIT.ok);
  });

  it('exits 3 when the API cannot be reached, naming the URL', async () => {
    const port = await closedPort();
    let stderr = '';
    const code = await runCli(['tasks', 'ls', '--timeout', '2'], { stdout: { write: () => true }, stderr: { write: (t: string) => (stderr += t) } }, {
      VIGIL_URL: `http://127.0.0.1:${port}`,
    });
    expect(code).toBe(EXIT.unreachable);
    expect(stderr).toContain(`cannot reach the Vigil API at http://127.0.0.1:${port}`);
  });
});

describe('vigil queue and dead letters', () => {
  it('shows the queue, lists, replays and deletes dead letters', async () => {
    const queue = await vigilJson<{ mode: string; streams: unknown[]; dead_letters: number }>(['queue']);
    expect(queue.mode).toBe('redis_streams');
    expect(queue.streams).toHaveLength(5);
    const human = await vigil(['queue']);
    expect(human.stdout).toMatch(/^mode:\s+redis_streams$/m);
    expect(human.stdout).toMatch(/^STREAM\s+LENGTH\s+GROUPS\s+PENDING\s+LAG/m);

    const failing = await vigilJson<{ id: number }>(['tasks', 'create', '--name', 'fails', '--type', 'fail', '--every', '1h', '--max-attempts', '1']);
    const letter = await waitFor(async () => {
      const page = await vigilJson<{ items: { id: number; task_id: number; reason: string }[] }>(['dead', 'ls', '--reason', 'attempts_exhausted']);
      return page.items.find((d) => d.task_id === failing.id);
    }, { message: 'a dead letter' });
    expect((await vigil(['dead', 'ls'])).stdout).toMatch(new RegExp(`^${letter.id}\\s+${failing.id}\\s+\\S+\\s+attempts_exhausted`, 'm'));

    const replayed = await vigilJson<{ replayed: number; task: { id: number } }>(['dead', 'replay', String(letter.id)]);
    expect(replayed).toMatchObject({ replayed: letter.id, task: { id: failing.id } });
    expect((await vigil(['dead', 'replay', String(letter.id)])).code).toBe(EXIT.notFound);

    const second = await waitFor(async () => {
      const page = await vigilJson<{ items: { id: number; task_id: number }[] }>(['dead', 'ls']);
      return page.items.find((d) => d.task_id === failing.id);
    }, { message: 'the replayed slot failing again' });
    expect(await vigilJson(['dead', 'rm', String(second.id)])).toEqual({ deleted: second.id });
    expect((await vigil(['dead', 'rm', String(second.id)])).code).toBe(EXIT.notFound);
  });
});

describe('vigil channels', () => {
  const SECRET = 'cli-channel-S3cret';
  let receiver: LocalServer;

  beforeAll(async () => {
    receiver = await startServer((req, res) => (req.url?.includes('refuse') ? reply(res, 403, 'no') : reply(res, 200, 'ok')));
  });
  afterAll(async () => receiver?.close());

  it('creates, lists, reads, tests, edits and deletes a channel, and never prints its secret', async () => {
    const created = await vigilJson<{ id: number; kind: string; config: Record<string, unknown> }>([
      'channels', 'create', '--name', 'cli hook', '--kind', 'webhook', '--config', JSON.stringify({ url: `${receiver.origin}/hook`, secret: SECRET }),
    ]);
    expect(created).toMatchObject({ kind: 'webhook', config: { url: `${receiver.origin}/…/****`, secret: '****' } });

    const human = await vigil(['channels', 'ls', '--kind', 'webhook']);
    expect(human.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+KIND\s+TARGET\s+UPDATED/);
    expect(human.stdout).toMatch(new RegExp(`^${created.id}\\s+cli hook\\s+webhook\\s+http://127\\.0\\.0\\.1`, 'm'));
    const details = await vigil(['channels', 'get', String(created.id)]);
    expect(details.stdout).toMatch(/^secret:\s+\*\*\*\*$/m);

    const tested = await vigilJson<{ ok: boolean; status_code: number }>(['channels', 'test', String(created.id)]);
    expect(tested).toMatchObject({ ok: true, status_code: 200 });
    expect(receiver.requests.some((r) => r.url === '/hook')).toBe(true);

    const edited = await vigilJson(['channels', 'edit', String(created.id), '--name', 'renamed hook', '--config', JSON.stringify({ url: `${receiver.origin}/refuse` })]);
    expect(edited).toMatchObject({ name: 'renamed hook', config: { secret: '****' } });
    const refused = await vigil(['channels', 'test', String(created.id)]);
    expect(refused.code).toBe(EXIT.failed);
    expect(refused.stderr).toContain('was not accepted');

    const task = await vigilJson<{ id: number }>(['tasks', 'create', '--name', 'alerts', '--type', 'count', '--every', '1h', '--notify', JSON.stringify({ channels: [created.id], on: ['down'] })]);
    expect((await vigil(['tasks', 'get', String(task.id)])).stdout).toMatch(new RegExp(`^notify:\\s+down → channels ${created.id}$`, 'm'));
    const inUse = await vigil(['channels', 'rm', String(created.id)]);
    expect(inUse.code).toBe(EXIT.failed);
    expect(inUse.stderr).toContain(`task ${task.id}`);
    await vigilJson(['tasks', 'rm', String(task.id)]);
    expect(await vigilJson(['channels', 'rm', String(created.id)])).toEqual({ deleted: created.id });
    expect((await vigil(['channels', 'get', String(created.id)])).code).toBe(EXIT.notFound);

    for (const res of [human, details, refused, inUse]) expect(res.stdout + res.stderr).not.toContain(SECRET);
  });

  it('names the field of a bad channel, and exits 2 on a bad command line', async () => {
    const bad = await vigil(['channels', 'create', '--name', 'bad', '--kind', 'slack', '--config', '{}']);
    expect(bad.code).toBe(EXIT.failed);
    expect(bad.stderr).toMatch(/^ {2}config\.webhook_url: /m);
    for (const args of [['channels', 'create', '--kind', 'pager'], ['channels', 'edit', '1'], ['channels', 'get', 'x'], ['channels', 'create', '--config', '[']]) {
      expect((await vigil(args)).code, args.join(' ')).toBe(EXIT.usage);
    }
  });
});

describe('the vigil entry point and scripts/check-queue.sh', () => {
  it('runs as a process (cmd/vigil/main.ts) with VIGIL_URL and VIGIL_TOKEN, and sets its exit code', async () => {
    const ok = await run(process.execPath, ['--import', 'tsx', 'cmd/vigil/main.ts', 'tasks', 'ls', '--json'], { VIGIL_URL: url, VIGIL_TOKEN: WRITE_TOKEN });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toHaveProperty('items');
    const denied = await run(process.execPath, ['--import', 'tsx', 'cmd/vigil/main.ts', 'tasks', 'ls'], { VIGIL_URL: url });
    expect(denied.code).toBe(EXIT.denied);
  });

  it('check-queue.sh reads /queue with a named token from APP_API_TOKENS', async () => {
    const res = await run('bash', ['scripts/check-queue.sh', '--api'], { VIGIL_URL: url, APP_API_TOKENS: `ops:${WRITE_TOKEN}:write` });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^mode:\s+redis_streams$/m);
    const withVigilToken = await run('bash', ['scripts/check-queue.sh', '--api'], { VIGIL_URL: url, VIGIL_TOKEN: READ_TOKEN });
    expect(withVigilToken.code, withVigilToken.stderr).toBe(0);
  });
});

function run(command: string, args: string[], env: Record<string, string>): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
