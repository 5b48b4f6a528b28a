/**
 * The one backoff policy of the service: exponential growth from a base delay, capped, with jitter. Used by every
 * place that waits before trying again: a failing fetch loop, a run start or outcome the store could not take, a
 * failed attempt of a task, a webhook delivery.
 */
export interface BackoffPolicy {
  /** Delay after the first failure, in ms. */
  baseMs: number;
  /** Upper bound of a delay, in ms. */
  maxMs: number;
  /**
   * How much of each delay is random, so that many waiters do not retry in step. `equal` (the default): half fixed,
   * half random; `none`: no randomness (loops whose waiters are already few).
   */
  jitter?: 'equal' | 'none';
  /** Returns [0, 1); injectable for tests. Default Math.random. */
  random?: () => number;
}

/** The delay before try `attempt + 1` after `attempt` failures (attempt ≥ 1): base × 2^(attempt−1), capped. */
export function backoffDelay(attempt: number, policy: BackoffPolicy): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt - 1));
  if (policy.jitter === 'none') return Math.round(exp);
  return Math.round(exp / 2 + (policy.random ?? Math.random)() * (exp / 2));
}

/** A run of failures: each `next()` is the delay after one more failure; `reset()` after a success. */
export class Backoff {
  private count = 0;

  constructor(private readonly policy: BackoffPolicy) {}

  /** Failures since the last reset. */
  get failures(): number {
    return this.count;
  }

  next(): number {
    this.count += 1;
    return backoffDelay(this.count, this.policy);
  }

  reset(): void {
    this.count = 0;
  }
}
