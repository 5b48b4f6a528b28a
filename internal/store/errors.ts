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
  /**
   * The database refused this statement's data (a packet over `max_allowed_packet`, a value too long for its
   * column, a time out of the column's range): the same statement fails every time, so it is never retried as is.
   */
  | 'invalid'
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
/**
 * Refusals of the statement's own data. MariaDB answers ER_NET_PACKET_TOO_LARGE and then closes the connection, so
 * the statement that follows on it (the transaction's ROLLBACK) sees ECONNRESET: that is why a connection error is
 * an outage only when the database does not answer on another connection ({@link isStoreOutageConfirmed}).
 */
const INVALID_CODES = new Set([
  'ER_NET_PACKET_TOO_LARGE',
  'ER_DATA_TOO_LONG',
  'ER_TRUNCATED_WRONG_VALUE',
  'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD',
  'ER_WRONG_VALUE',
  'ER_WRONG_VALUE_FOR_VAR',
  'ER_WARN_DATA_OUT_OF_RANGE',
  'ER_DATETIME_FUNCTION_OVERFLOW',
  'ER_INVALID_JSON_TEXT',
  'ER_BAD_NULL_ERROR',
  'SQLITE_TOOBIG',
  'SQLITE_MISMATCH',
  'SQLITE_CONSTRAINT_NOTNULL',
  'SQLITE_CONSTRAINT_CHECK',
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
  if (code !== undefined && INVALID_CODES.has(code)) return new StoreError('invalid', message, { cause: err });
  if ((code !== undefined && UNAVAILABLE_CODES.has(code)) || e?.fatal === true || /Pool is closed|connect/i.test(message)) {
    return new StoreError('unavailable', `database unavailable: ${message}`, { cause: err });
  }
  return new StoreError('internal', message, { cause: err });
}

/**
 * Whether a failed statement means the database is really out of reach: an `unavailable` error counts only when
 * the database also fails to answer a ping, which draws another connection from the pool (the one that failed is
 * gone). A connection that the server closed because of what was sent on it (a packet over `max_allowed_packet`)
 * is then told apart from an outage, and its statement fails alone instead of being retried for ever. `busy` is
 * always retryable and counts as an outage here; `invalid`, `conflict`, `not_found` and `internal` never do.
 */
export async function isStoreOutageConfirmed(store: { ping(): Promise<void> }, err: unknown, timeoutMs = 3000): Promise<boolean> {
  if (isStoreError(err, 'busy')) return true;
  if (!isStoreError(err, 'unavailable')) return false;
  // Twice: the first ping may draw a pooled connection the server closed in the same moment.
  for (let i = 0; i < 2; i += 1) {
    if (await pingWithin(store, timeoutMs)) return false;
  }
  return true;
}

async function pingWithin(store: { ping(): Promise<void> }, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref?.();
  });
  try {
    return await Promise.race([store.ping().then(() => true, () => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
