import { CodedError } from '../platform/errors.js';

/** What went wrong at the store, independent of the driver. */
export type StoreErrorCode =
  /** A unique key was violated (duplicate idempotency key, duplicate attempt). */
  | 'conflict'
  /** A referenced row does not exist. */
  | 'not_found'
  /** The database cannot be reached or dropped the connection; retrying later may succeed. */
  | 'unavailable'
  /** A lock could not be taken (deadlock, busy file); the operation can be retried at once. */
  | 'busy'
  /** Anything else: a bug or a schema mismatch. */
  | 'internal';

/** The one error type that leaves `internal/store`. Driver errors are translated at the driver boundary. */
export class StoreError extends CodedError<StoreErrorCode> {}

export function isStoreError(err: unknown, code?: StoreErrorCode): err is StoreError {
  return StoreError.is(err, code);
}

/**
 * Whether the error is the database's state rather than the request's: unreachable, or a lock conflict that a
 * retry resolves. Such an error fails any statement alike; waiting and trying again is the remedy.
 */
export function isStoreOutage(err: unknown): boolean {
  return isStoreError(err, 'unavailable') || isStoreError(err, 'busy');
}

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_ACCESS_DENIED_ERROR',
  'ER_BAD_DB_ERROR',
  'SQLITE_CANTOPEN',
  'SQLITE_READONLY',
  'SQLITE_IOERR',
]);
const BUSY_CODES = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'SQLITE_BUSY', 'SQLITE_LOCKED']);
const CONFLICT_CODES = new Set(['ER_DUP_ENTRY', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_CONSTRAINT_PRIMARYKEY']);
const NOT_FOUND_CODES = new Set(['ER_NO_REFERENCED_ROW_2', 'ER_NO_REFERENCED_ROW', 'SQLITE_CONSTRAINT_FOREIGNKEY']);

/**
 * Translates a mysql2 or better-sqlite3 error into a {@link StoreError}. The message keeps the driver's text,
 * which never contains credentials (DSNs are not echoed by either driver).
 */
export function translateDriverError(err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const e = err as { code?: unknown; fatal?: unknown; message?: unknown; errno?: unknown };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = typeof e?.message === 'string' && e.message !== '' ? e.message : String(code ?? err);
  if (code !== undefined && CONFLICT_CODES.has(code)) return new StoreError('conflict', message, { cause: err });
  if (code !== undefined && NOT_FOUND_CODES.has(code)) return new StoreError('not_found', message, { cause: err });
  if (code !== undefined && BUSY_CODES.has(code)) return new StoreError('busy', message, { cause: err });
  if ((code !== undefined && UNAVAILABLE_CODES.has(code)) || e?.fatal === true || /Pool is closed|connect/i.test(message)) {
    return new StoreError('unavailable', `database unavailable: ${message}`, { cause: err });
  }
  return new StoreError('internal', message, { cause: err });
}
