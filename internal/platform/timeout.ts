/** Raised by {@link withTimeout} when the promise did not settle in time. */
export class TimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}

/**
 * Settles like `promise`, or rejects with `onTimeout()` (a {@link TimeoutError} by default) after `ms`. The
 * promise keeps running after a timeout; its late rejection is swallowed, so it can never become unhandled.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: string | (() => Error)): Promise<T> {
  promise.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(typeof onTimeout === 'string' ? new TimeoutError(onTimeout) : onTimeout()), ms);
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
