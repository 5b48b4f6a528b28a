import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RowDataPacket, createConnection } from 'mysql2/promise';
import { type Store, StoreMigrator, openStore } from '../../internal/store/index.js';

/**
 * Test fixtures for real services. `make test` (scripts/test-services.sh) exports where MySQL and Redis are;
 * running vitest by hand falls back to the usual local ports. Every test file gets its own database and prefix.
 */
export const ADMIN_DSN = process.env.VIGIL_TEST_MYSQL_DSN ?? 'mysql://root@127.0.0.1:3306';
export const REDIS_ADDR = process.env.VIGIL_TEST_REDIS_ADDR ?? '127.0.0.1:6379';
export const REDIS_SERVER_BIN = process.env.VIGIL_TEST_REDIS_SERVER_BIN ?? 'redis-server';

/** A short random suffix that keeps databases, key prefixes and files of parallel test files apart. */
export function uniqueName(label: string): string {
  return `${label.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
}

export interface TestDatabase {
  /** DSN of the new, empty database. */
  dsn: string;
  name: string;
  drop(): Promise<void>;
}

/** Creates an empty MySQL/MariaDB database for one test file. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `vigil_t_${uniqueName(label)}`.slice(0, 64);
  const admin = await createConnection({ uri: ADMIN_DSN });
  try {
    await admin.query(`CREATE DATABASE \`${name}\``);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_DSN);
  url.pathname = `/${name}`;
  return {
    dsn: url.toString(),
    name,
    drop: async () => {
      const conn = await createConnection({ uri: ADMIN_DSN });
      try {
        // A client killed mid-statement can leave its server thread behind, holding metadata locks that DROP
        // DATABASE would wait on for as long as a lock wait lasts: end those threads first.
        const [threads] = await conn.query<RowDataPacket[]>(
          'SELECT ID AS id FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()',
          [name],
        );
        for (const { id } of threads) await conn.query(`KILL ${Number(id)}`).catch(() => undefined);
        await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await conn.end();
      }
    },
  };
}

export type Dialect = 'mysql' | 'sqlite';

export interface TestStore {
  store: Store;
  /** What a child process needs to reach the same store: MYSQL_DSN, or SQLITE_PATH. */
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/** A migrated store of the given dialect, in its own database or file. */
export async function createTestStore(dialect: Dialect, label: string): Promise<TestStore> {
  if (dialect === 'mysql') {
    const database = await createTestDatabase(label);
    const store = openStore({ mysqlDsn: database.dsn, poolSize: 10 });
    await new StoreMigrator(store).up();
    return {
      store,
      env: { MYSQL_DSN: database.dsn },
      cleanup: async () => {
        await store.close();
        await database.drop();
      },
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'vigil-test-'));
  const file = join(dir, 'vigil.db');
  const store = openStore({ sqlitePath: file });
  await new StoreMigrator(store).up();
  return {
    store,
    env: { SQLITE_PATH: file },
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  options: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out waiting for ${options.message ?? 'condition'}${reason}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
}
