import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_FILE_ENV, ENV_VARS } from '../internal/config/index.js';
import { openStore } from '../internal/store/index.js';
import { type TestDatabase, createTestDatabase } from './support/services.js';

/**
 * cmd/migrate as an operator runs it: `npx tsx cmd/migrate/main.ts up|status|down`, a child process configured only
 * through its environment, against a fresh MySQL database and a fresh SQLite file.
 */

const ROOT = resolve(import.meta.dirname, '..');
const INIT_TABLES = ['dead_letters', 'task_runs', 'tasks'];
const TABLES = ['dead_letters', 'notification_attempts', 'notifications', 'task_memory', 'task_runs', 'tasks'];
/** Every migration, in the order they apply: read from disk, so that a new migration needs no edit here. */
const MIGRATIONS = readdirSync(join(ROOT, 'migrations', 'mysql'))
  .filter((f) => f.endsWith('.up.sql'))
  .map((f) => f.replace(/\.up\.sql$/, ''))
  .sort();
const statusAll = (state: 'pending' | 'applied') => Object.fromEntries(MIGRATIONS.map((m) => [m, state]));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The parent's environment without any Vigil setting, so that only what a test passes reaches the child. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !(key in ENV_VARS) && key !== CONFIG_FILE_ENV) env[key] = value;
  }
  return env;
}

function migrate(args: string[], env: Record<string, string>): Promise<Result> {
  return new Promise((resolveRun, reject) => {
    // node with tsx's loader, not `npx tsx`: the same program without npx's start-up, which a loaded machine feels.
    const child = spawn(process.execPath, ['--import', 'tsx', 'cmd/migrate/main.ts', ...args], {
      cwd: ROOT,
      env: { ...cleanEnv(), APP_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

/** The JSON log lines a run wrote to stdout. */
function logLines(result: Result): { level: string; msg: string; [key: string]: unknown }[] {
  return result.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: string; msg: string });
}

/** `applied  001_init  <time>` / `pending  001_init` lines of `status`, as name → state. */
function statusOf(result: Result): Record<string, string> {
  const states: Record<string, string> = {};
  for (const line of result.stdout.split('\n')) {
    const match = /^(applied|pending)\s+(\S+)/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) states[match[2]] = match[1];
  }
  return states;
}

async function tablesIn(env: { mysqlDsn?: string; sqlitePath?: string }): Promise<string[]> {
  const store = openStore(env);
  try {
    const tables = await store.db.introspection.getTables();
    return tables.map((t) => t.name).filter((name) => TABLES.includes(name)).sort();
  } finally {
    await store.close();
  }
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

let database: TestDatabase;
let sqliteDir: string;

beforeAll(async () => {
  database = await createTestDatabase('migrate_cli');
  sqliteDir = mkdtempSync(join(tmpdir(), 'vigil-migrate-cli-'));
});

afterAll(async () => {
  await database?.drop();
  if (sqliteDir !== undefined) rmSync(sqliteDir, { recursive: true, force: true });
});

const targets = [
  {
    dialect: 'mysql',
    env: () => ({ MYSQL_DSN: database.dsn }),
    open: () => ({ mysqlDsn: database.dsn }),
  },
  {
    dialect: 'sqlite',
    env: () => ({ SQLITE_PATH: join(sqliteDir, 'nested', 'vigil.db') }),
    open: () => ({ sqlitePath: join(sqliteDir, 'nested', 'vigil.db') }),
  },
] as const;

describe.each(targets)('cmd/migrate against $dialect', ({ dialect, env, open }) => {
  it('status lists the migration as pending on a fresh database', async () => {
    const result = await migrate(['status'], env());
    expect(result.code).toBe(0);
    expect(statusOf(result)).toEqual(statusAll('pending'));
  });

  it('up applies it, creates the tables and says so', async () => {
    const result = await migrate(['up'], env());
    expect(result.code, result.stderr).toBe(0);
    const done = logLines(result).find((line) => line.msg === 'migrations applied');
    expect(done).toMatchObject({ level: 'info', applied: MIGRATIONS, store: { driver: dialect } });
    expect(await tablesIn(open())).toEqual(TABLES);
    if (dialect === 'sqlite') expect(existsSync(join(sqliteDir, 'nested', 'vigil.db'))).toBe(true);
  });

  it('status then lists it as applied, with the time', async () => {
    const result = await migrate(['status'], env());
    expect(result.code).toBe(0);
    expect(statusOf(result)).toEqual(statusAll('applied'));
    expect(result.stdout).toMatch(/applied\s+001_init\s+\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/);
  });

  it('up again changes nothing and exits 0', async () => {
    const result = await migrate(['up'], env());
    expect(result.code).toBe(0);
    expect(logLines(result).find((line) => line.msg === 'migrations up to date')).toMatchObject({ applied: [] });
    expect(await tablesIn(open())).toEqual(TABLES);
  });

  // One process per migration: its time grows with their number.
  it('down reverts one migration at a time and drops its tables; down again has nothing to revert', { timeout: 30_000 * (MIGRATIONS.length + 2) }, async () => {
    for (const name of [...MIGRATIONS].reverse()) {
      const result = await migrate(['down'], env());
      expect(result.code, result.stderr).toBe(0);
      expect(logLines(result).find((line) => line.msg === 'migration reverted')).toMatchObject({ reverted: [name] });
      if (name === '002_monitoring') expect(await tablesIn(open())).toEqual(INIT_TABLES);
    }
    expect(await tablesIn(open())).toEqual([]);
    expect(statusOf(await migrate(['status'], env()))).toEqual(statusAll('pending'));

    const again = await migrate(['down'], env());
    expect(again.code).toBe(0);
    expect(logLines(again).find((line) => line.msg === 'nothing to revert')).toMatchObject({ reverted: [] });
  });

  it('up after down restores the schema', async () => {
    const result = await migrate(['up'], env());
    expect(result.code).toBe(0);
    expect(await tablesIn(open())).toEqual(TABLES);
  });
});

describe('cmd/migrate failures', () => {
  it('refuses an unknown command with exit code 2 and the usage', async () => {
    const result = await migrate(['sideways'], { SQLITE_PATH: join(sqliteDir, 'unused.db') });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('usage: migrate up|down|status');
    expect(existsSync(join(sqliteDir, 'unused.db'))).toBe(false);
  });

  it('exits 2 listing every configuration problem', async () => {
    const result = await migrate(['up'], { MYSQL_DSN: 'postgres://u@h/db', APP_WORKER_POOL_SIZE: 'many', APP_LOG_LEVEL: 'loud' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('APP_WORKER_POOL_SIZE');
    expect(result.stderr).toContain('APP_LOG_LEVEL');
  });

  it('exits 1 when MySQL cannot be reached, without printing the password', async () => {
    const port = await closedPort();
    const result = await migrate(['up'], {
      MYSQL_DSN: `mysql://vigil:Migrate-S3cret@127.0.0.1:${port}/vigil`,
      APP_CONFIG: '',
    });
    expect(result.code).toBe(1);
    const failed = logLines(result).find((line) => line.msg === 'migrate up failed');
    expect(failed).toMatchObject({ level: 'error', store: { driver: 'mysql', host: `127.0.0.1:${port}` } });
    expect(`${result.stdout}${result.stderr}`).not.toContain('Migrate-S3cret');
  });
});
