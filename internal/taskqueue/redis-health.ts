import type { Redis } from 'ioredis';
import { withTimeout } from '../platform/timeout.js';

/** Whether Redis can serve the queue now, and why not when it cannot. */
export interface RedisState {
  ok: boolean;
  /** Where Redis is, without credentials. */
  addr: string;
  /** Why it is not ok; absent when it is. */
  error?: string;
}

/** Consecutive failures of one component's stream commands after which Redis counts as refusing them. */
export const STREAM_FAILURES_BEFORE_BROKEN = 3;

/**
 * The one answer to "is Redis up?" for the whole process: the API's fallback, the scheduler's mode, `/healthz` and
 * `/queue` all ask it. Redis is up when the connection is ready, PING answers in time, and stream commands are not
 * failing: a Redis that answers PING but refuses writes (out of memory, a read-only replica, MISCONF) counts as
 * down until a write probe goes through again.
 */
export class RedisHealth {
  private current: RedisState;
  /** Consecutive failures per component (reader, publisher): one working must not hide the other failing. */
  private readonly failures = new Map<string, number>();
  /** Set while stream commands fail although Redis answers PING; cleared by a successful write probe. */
  private broken: string | undefined;
  private refreshing: Promise<RedisState> | undefined;

  constructor(
    private readonly deps: { connection: Redis; probeWrite: () => Promise<boolean> },
    private readonly config: { addr: string; pingTimeoutMs: number },
  ) {
    this.current = { ok: false, addr: config.addr, error: 'not checked yet' };
  }

  /** The state found by the last refresh. */
  get state(): RedisState {
    return this.current;
  }

  /** Pings Redis (and, while stream commands were failing, probes a write) and returns the new state. */
  refresh(): Promise<RedisState> {
    this.refreshing ??= this.check().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  /** A stream command of `component` worked. */
  reportSuccess(component: string): void {
    this.failures.set(component, 0);
  }

  /** A stream command of `component` failed; a few in a row make Redis count as refusing them. */
  reportFailure(component: string, err: unknown): void {
    const count = (this.failures.get(component) ?? 0) + 1;
    this.failures.set(component, count);
    if (count >= STREAM_FAILURES_BEFORE_BROKEN) this.markBroken(`redis refuses stream commands: ${messageOf(err)}`);
  }

  /** Redis refused something the queue cannot work without (creating the groups, say) until a write goes through. */
  markBroken(reason: string): void {
    this.broken ??= reason;
    this.current = { ok: false, addr: this.config.addr, error: this.broken };
  }

  private async check(): Promise<RedisState> {
    const answers = await this.ping();
    if (answers && this.broken !== undefined && (await this.deps.probeWrite())) {
      this.broken = undefined;
      this.failures.clear();
    }
    const error = !answers ? `redis unreachable (${this.deps.connection.status})` : this.broken;
    this.current = error === undefined ? { ok: true, addr: this.config.addr } : { ok: false, addr: this.config.addr, error };
    return this.current;
  }

  private async ping(): Promise<boolean> {
    if (this.deps.connection.status !== 'ready') return false;
    try {
      const pong = await withTimeout(this.deps.connection.ping(), this.config.pingTimeoutMs, 'ping timed out');
      return pong === 'PONG';
    } catch {
      return false;
    }
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
