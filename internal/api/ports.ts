import { withTimeout } from '../platform/timeout.js';
import { type Store, StoreError, type Task } from '../store/index.js';
import type { StreamStats } from '../taskqueue/index.js';
import type { RateLimitVerdict } from '../platform/rate-limit.js';

export type { RateLimitVerdict };

/**
 * The interfaces the API layer needs from the rest of the service. They are declared here, by their user, and
 * implemented by the composition root (`internal/app`), which knows whether Redis and a scheduler exist.
 */

/** How a new task reached the scheduler: published to the stream, handed to this process, or left for the poller. */
export type QueuedVia = 'stream' | 'direct' | 'poll';

/** Tells the scheduling side that a task was created. */
export interface TaskDispatcher {
  /**
   * When not null, new rows are inserted with `queued_until = now + this many ms`, because `dispatchNew` will
   * publish them and the periodic publisher must not publish them a second time.
   */
  readonly queueMarkTtlMs: number | null;
  /** Called after the row is committed. Publishes the task or hands it to this process's scheduler. Never throws. */
  dispatchNew(task: Task): Promise<QueuedVia>;
  /** Called after a "run now" made the task due. Same paths as `dispatchNew`. Never throws. */
  dispatchRunNow(task: Task): Promise<QueuedVia>;
}

/** `/queue` as the scheduling side reports it (times in ms); the route turns it into JSON. */
export interface QueueReport {
  mode: 'redis_streams' | 'db_polling';
  status: 'healthy' | 'degraded' | 'unhealthy';
  reasons: string[];
  streams?: StreamStats[];
  totals?: { length: number; pending: number; lag: number; oldestPendingAgeMs: number | null };
  polling: { due: number; running: number; oldestDueAgeMs: number | null };
  deadLetters: number;
  /** Which Redis topology serves the queue, and the node serving it now; absent without Redis. */
  redis?: { topology: 'standalone' | 'cluster' | 'sentinel'; node: string | null; ok: boolean };
}

/** Answers `/queue`. */
export interface QueueSource {
  inspect(): Promise<QueueReport>;
}

/** Dependency state as `/healthz` reports it (DESIGN §4). */
export interface HealthReport {
  /** `degraded` when a dependency is down; `/healthz` still answers 200, because the process itself is alive. */
  status: 'ok' | 'degraded';
  mode: 'redis_streams' | 'db_polling';
  store: { driver: 'mysql' | 'sqlite'; ok: boolean; error?: string; [k: string]: unknown };
  redis: { configured: boolean; ok: boolean; error?: string; [k: string]: unknown };
  /** One short sentence per reason the status is `degraded`; empty when ok. */
  reasons: string[];
}

/** Produces the health report. Implementations must not throw; they report failures inside the report. */
export interface HealthSource {
  check(): Promise<HealthReport>;
}

/**
 * A dispatcher for a process without a stream publisher: new rows are simply due, and the poller finds them on its
 * next tick. Used until the scheduler is wired in, and whenever stream mode is off.
 */
export const pollingDispatcher: TaskDispatcher = Object.freeze({
  queueMarkTtlMs: null,
  dispatchNew: async (): Promise<QueuedVia> => 'poll',
  dispatchRunNow: async (): Promise<QueuedVia> => 'poll',
});

export interface StoreHealthSourceOptions {
  /** Milliseconds to wait for the store to answer before calling it down. Default 2000. */
  pingTimeoutMs?: number;
}

/**
 * The default health source: the store's answer only, no Redis, polling mode. `internal/app` replaces it with one
 * that also knows about Redis and the scheduler's mode.
 */
export function storeHealthSource(store: Store, options: StoreHealthSourceOptions = {}): HealthSource {
  const timeoutMs = options.pingTimeoutMs ?? 2000;
  return {
    async check(): Promise<HealthReport> {
      const storeState = await checkStore(store, timeoutMs);
      return {
        status: storeState.ok ? 'ok' : 'degraded',
        mode: 'db_polling',
        store: storeState,
        redis: { configured: false, ok: false },
        reasons: storeState.ok ? [] : [`store unavailable: ${storeState.error ?? 'no answer'}`],
      };
    },
  };
}

/** The store part of a health report: where it is (never credentials) and whether it answers. */
export async function checkStore(store: Store, timeoutMs: number): Promise<HealthReport['store']> {
  const where = { ...store.target };
  try {
    await pingWithin(store, timeoutMs);
    return { ...where, ok: true };
  } catch (err) {
    return { ...where, ok: false, error: shortMessage(err) };
  }
}

/**
 * `store.ping()`, but bounded: a database behind a black-holed network can leave a connect hanging for longer than
 * any probe will wait. A timeout rejects with StoreError('unavailable'), like any other outage.
 */
export function pingWithin(store: Store, timeoutMs: number): Promise<void> {
  return withTimeout(store.ping(), timeoutMs, () => new StoreError('unavailable', `the store did not answer within ${timeoutMs} ms`));
}

function shortMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/**
 * Counts requests per key (a token's name, or a client address) and says whether one more is allowed. The API
 * declares it; `internal/app` passes the in-process one ({@link memoryRateLimiter}) or the one shared through Redis
 * (built in `internal/taskqueue`). Implementations must not throw for an outage of their store: they fall back to
 * counting in the process, so that a limiter never fails or blocks a request.
 */
export interface RateLimiter {
  consume(key: string): Promise<RateLimitVerdict>;
}
