import {
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type QueryResult,
  type TransactionSettings,
  CompiledQuery,
} from 'kysely';
import { translateDriverError } from './errors.js';

/**
 * Wraps a kysely dialect so that every driver error (connect, query, transaction) leaves as a StoreError. This is
 * the driver boundary: nothing above it sees a mysql2 or better-sqlite3 error.
 */
export function translatingDialect(inner: Dialect, options: { beginStatement?: string } = {}): Dialect {
  return {
    createAdapter: () => inner.createAdapter(),
    createIntrospector: (db) => inner.createIntrospector(db),
    createQueryCompiler: () => inner.createQueryCompiler(),
    createDriver: () => new TranslatingDriver(inner.createDriver(), options.beginStatement),
  };
}

class TranslatingConnection implements DatabaseConnection {
  constructor(readonly inner: DatabaseConnection) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    try {
      return await this.inner.executeQuery<R>(query);
    } catch (err) {
      throw translateDriverError(err);
    }
  }

  async *streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield* this.inner.streamQuery<R>(query, chunkSize);
    } catch (err) {
      throw translateDriverError(err);
    }
  }
}

class TranslatingDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly beginStatement: string | undefined,
  ) {}

  private guard<T>(fn: () => Promise<T>): Promise<T> {
    return fn().catch((err: unknown) => {
      throw translateDriverError(err);
    });
  }

  init() {
    return this.guard(() => this.inner.init());
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    return new TranslatingConnection(await this.guard(() => this.inner.acquireConnection()));
  }
  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings) {
    const conn = unwrap(connection);
    if (this.beginStatement !== undefined) {
      return this.guard(async () => void (await conn.executeQuery(CompiledQuery.raw(this.beginStatement as string))));
    }
    return this.guard(() => this.inner.beginTransaction(conn, settings));
  }
  commitTransaction(connection: DatabaseConnection) {
    return this.guard(() => this.inner.commitTransaction(unwrap(connection)));
  }
  /**
   * A ROLLBACK that fails is not reported: the statement that failed before it is what the caller must see (kysely
   * would otherwise throw the rollback's error in its place). It fails when the connection is gone, for example
   * after MariaDB refused an oversized packet and closed it, and a transaction whose connection ends is rolled back
   * by the server anyway.
   */
  async rollbackTransaction(connection: DatabaseConnection) {
    try {
      await this.inner.rollbackTransaction(unwrap(connection));
    } catch {
      // See above: the transaction is void either way.
    }
  }
  releaseConnection(connection: DatabaseConnection) {
    return this.inner.releaseConnection(unwrap(connection));
  }
  destroy() {
    return this.inner.destroy();
  }
}

function unwrap(connection: DatabaseConnection): DatabaseConnection {
  return connection instanceof TranslatingConnection ? connection.inner : connection;
}
