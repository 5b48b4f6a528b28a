import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Migration, type MigrationProvider, type MigrationResultSet, Migrator, sql } from 'kysely';
import type { Store } from './database.js';

/**
 * Migrations are plain SQL files, one folder per dialect: `migrations/<dialect>/NNN_name.up.sql` and
 * `.down.sql`. kysely's Migrator records them and takes a lock, so several processes may migrate at once.
 */
class SqlFileMigrationProvider implements MigrationProvider {
  constructor(private readonly folder: string) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(this.folder)).filter((f) => f.endsWith('.up.sql')).sort();
    const migrations: Record<string, Migration> = {};
    for (const upFile of files) {
      const name = upFile.replace(/\.up\.sql$/, '');
      const downFile = join(this.folder, `${name}.down.sql`);
      migrations[name] = {
        up: async (db) => runStatements(db, await readFile(join(this.folder, upFile), 'utf8')),
        down: existsSync(downFile) ? async (db) => runStatements(db, await readFile(downFile, 'utf8')) : undefined,
      };
    }
    return migrations;
  }
}

type AnyKysely = Parameters<Migration['up']>[0];

async function runStatements(db: AnyKysely, text: string): Promise<void> {
  for (const statement of splitStatements(text)) await sql.raw(statement).execute(db);
}

/** Splits a file on semicolons that end a line, dropping comment-only chunks. */
function splitStatements(text: string): string[] {
  return text
    .split(/;\s*$/m)
    .map((chunk) =>
      chunk
        .split('\n')
        .filter((line) => !line.trim().startsWith('--'))
        .join('\n')
        .trim(),
    )
    .filter((chunk) => chunk.length > 0);
}

export interface MigrationStatus {
  name: string;
  executedAt: Date | undefined;
}

/** Runs, reverts and lists migrations for a store. */
export class StoreMigrator {
  private readonly migrator: Migrator;

  constructor(store: Store, migrationsDir: string = findMigrationsDir()) {
    this.migrator = new Migrator({
      db: store.db,
      provider: new SqlFileMigrationProvider(join(migrationsDir, store.dialect)),
      migrationTableName: 'vigil_migrations',
      migrationLockTableName: 'vigil_migrations_lock',
    });
  }

  /** Applies every pending migration. Returns the names applied. */
  async up(): Promise<string[]> {
    return names(await this.migrator.migrateToLatest());
  }

  /** Reverts the latest migration. Returns the names reverted. */
  async down(): Promise<string[]> {
    return names(await this.migrator.migrateDown());
  }

  async status(): Promise<MigrationStatus[]> {
    return (await this.migrator.getMigrations()).map((m) => ({ name: m.name, executedAt: m.executedAt }));
  }
}

function names(result: MigrationResultSet): string[] {
  if (result.error !== undefined) throw result.error;
  return (result.results ?? []).map((r) => r.migrationName);
}

/** `migrations/` beside the project root, whether running from sources or from `dist/`. */
export function findMigrationsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    resolve(process.cwd(), 'migrations'),
    resolve(here, '../../migrations'),
    resolve(here, '../../../migrations'),
  ];
  const found = candidates.find((dir) => existsSync(join(dir, 'mysql')));
  if (found === undefined) throw new Error(`migrations folder not found (looked in ${candidates.join(', ')})`);
  return found;
}
