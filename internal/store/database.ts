import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import {
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
  Kysely,
  MysqlDialect,
  OperationNodeTransformer,
  PrimitiveValueListNode,
  SqliteDialect,
  ValueNode,
  sql,
} from 'kysely';
import { createPool } from 'mysql2';
import { translatingDialect } from './translating-dialect.js';
import type { Database } from './types.js';

export type DialectName = 'mysql' | 'sqlite';

/** A database handle, or a transaction on one: what every repository function takes first. */
export interface Db {
  readonly db: Kysely<Database>;
  readonly dialect: DialectName;
}

/** The store: a pooled connection to MySQL/MariaDB, or the embedded SQLite file. */
export interface Store extends Db {
  /** Where the data lives, without credentials; shown by /healthz. */
  readonly target: { driver: DialectName; host?: string; database?: string; file?: string };
  /** Resolves when the database answers a trivial query; throws StoreError('unavailable') otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** `mysql://user:pass@host:3306/db`. When unset, SQLite at `sqlitePath`. */
  mysqlDsn?: string | undefined;
  /** Connections in the MySQL pool. Default 10. */
  poolSize?: number;
  /** Milliseconds to wait for a MySQL connection. Default 2000. */
  connectTimeoutMs?: number;
  /** The SQLite file. Default `data/vigil.db`. */
  sqlitePath?: string;
}

export function openStore(options: OpenStoreOptions): Store {
  return options.mysqlDsn === undefined ? openSqlite(options.sqlitePath ?? 'data/vigil.db') : openMysql(options);
}

function openMysql(options: OpenStoreOptions): Store {
  const url = new URL(options.mysqlDsn as string);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  const pool = createPool({
    host: url.hostname,
    port: url.port === '' ? 3306 : Number(url.port),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database,
    connectionLimit: options.poolSize ?? 10,
    connectTimeout: options.connectTimeoutMs ?? 2000,
    // Times are stored and read as UTC whatever the server's zone.
    timezone: 'Z',
    dateStrings: false,
    supportBigNumbers: true,
    bigNumberStrings: false,
    enableKeepAlive: true,
    // Idle connections are dropped so that a restarted server does not leave dead sockets in the pool for long.
    maxIdle: Math.min(options.poolSize ?? 10, 4),
    idleTimeout: 30_000,
  });
  // Every transaction Vigil runs is short: a lock held for seconds means something is wrong elsewhere, and waiting
  // InnoDB's default 50 s for it would stall a claim loop or an API request. Give up after 5 s (a `busy` error).
  pool.on('connection', (connection) => {
    connection.query('SET SESSION innodb_lock_wait_timeout = 5');
  });
  const db = new Kysely<Database>({ dialect: translatingDialect(new MysqlDialect({ pool })) });
  return {
    db,
    dialect: 'mysql',
    target: { driver: 'mysql', host: `${url.hostname}:${url.port || '3306'}`, database },
    ping: async () => {
      await sql`SELECT 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}

function openSqlite(file: string): Store {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const dialect = new SqliteDialect({
    database: async () => {
      const conn = new SqliteDatabase(file);
      conn.pragma('journal_mode = WAL');
      // FULL: a commit is on disk before it returns, so a 201 survives a power loss (G1); WAL keeps it cheap.
      conn.pragma('synchronous = FULL');
      conn.pragma('busy_timeout = 5000');
      conn.pragma('foreign_keys = ON');
      return conn;
    },
  });
  // BEGIN IMMEDIATE takes the write lock up front, so that two processes sharing the file serialise their claims
  // instead of failing when a read lock would have to be upgraded.
  const db = new Kysely<Database>({
    dialect: translatingDialect(dialect, { beginStatement: 'begin immediate' }),
    plugins: [new SqliteValuesPlugin()],
  });
  return {
    db,
    dialect: 'sqlite',
    target: { driver: 'sqlite', file },
    ping: async () => {
      await sql`SELECT 1`.execute(db);
    },
    close: () => db.destroy(),
  };
}

/** better-sqlite3 binds neither Date nor boolean: store times as ISO-8601 text (which sorts) and booleans as 0/1. */
class SqliteValuesPlugin implements KyselyPlugin {
  private readonly transformer = new SqliteValuesTransformer();
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.transformer.transformNode(args.node);
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

class SqliteValuesTransformer extends OperationNodeTransformer {
  protected override transformValue(node: ValueNode): ValueNode {
    return { ...node, value: toSqliteValue(node.value) };
  }
  protected override transformPrimitiveValueList(node: PrimitiveValueListNode): PrimitiveValueListNode {
    return PrimitiveValueListNode.create(node.values.map(toSqliteValue));
  }
}

function toSqliteValue(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}
