import { CodedError } from '../platform/errors.js';

/** What went wrong at Redis, independent of the client library. */
export type QueueErrorCode =
  /** Redis cannot be reached, dropped the connection, or did not answer in time; retrying later may succeed. */
  | 'unavailable'
  /** Redis answers but refuses the command: out of memory, read-only replica, MISCONF, still loading. */
  | 'refused'
  /** Anything else: a wrong type at a key, a script error, a bug. */
  | 'internal';

/** The one error type that leaves `internal/taskqueue`: ioredis errors are translated at the boundary. */
export class QueueError extends CodedError<QueueErrorCode> {}

export function isQueueError(err: unknown, code?: QueueErrorCode): err is QueueError {
  return QueueError.is(err, code);
}

/** Server replies that mean "not now" rather than "never": the write would succeed once Redis recovers. */
const REFUSING_REPLIES = /^(OOM|READONLY|MISCONF|NOREPLICAS|LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN)\b/;

/**
 * Translates an ioredis error into a {@link QueueError}. A server reply (ioredis' `ReplyError`) is `refused` when
 * it says Redis cannot take writes now and `internal` otherwise; anything else (a closed connection, a command
 * timeout, an offline client) is `unavailable`.
 */
export function translateRedisError(err: unknown): QueueError {
  if (err instanceof QueueError) return err;
  const e = err as { name?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' && e.message !== '' ? e.message : String(err);
  if (e?.name === 'ReplyError') {
    return new QueueError(REFUSING_REPLIES.test(message) ? 'refused' : 'internal', `redis refused: ${message}`, { cause: err });
  }
  return new QueueError('unavailable', `redis unavailable: ${message}`, { cause: err });
}

/** Runs a Redis call and translates whatever it throws. */
export async function translated<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw translateRedisError(err);
  }
}
