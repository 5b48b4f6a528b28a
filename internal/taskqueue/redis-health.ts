import { withTimeout } from '../platform/timeout.js';
import type { RedisClient, RedisTopology } from './connection.js';

/** Whether Redis can serve the queue now, and why not when it cannot. */
export interface RedisState {
  ok: boolean;
  /** Where Redis is, without credentials: the address, the seed nodes, or `master@sentinels`. */
  addr: string;
  /** `standalone`, `cluster` or `sentinel`. */
  topology: RedisTopology;
  /**
   * The node serving the queue now (`host:port`): the master of the queue's slot on a Cluster, the current master
   * behind Sentinel. Null while there is none.
   */
  node: string | null;
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
    private readonly deps: {
      connection: RedisClient;
      probeWrite: () => Promise<boolean>;
      /** Whether the node serving the queue answers. Default: PING on the connection. */
      ping?: () => Promise<boolean>;
      /** The node serving the queue now. Default: none known. */
      queueNode?: () => string | null;
    },
    private readonly config: { addr: string; topology?: RedisTopology; pingTimeoutMs: number },
  ) {
    this.current = this.stateOf('not checked yet');
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
    this.current = this.stateOf(this.broken);
  }

  private async check(): Promise<RedisState> {
    const answers = await this.ping();
    if (answers && this.broken !== undefined && (await this.deps.probeWrite())) {
      this.broken = undefined;
      this.failures.clear();
    }
    const error = !answers ? `redis unreachable (${this.deps.connection.status})` : this.broken;
    this.current = this.stateOf(error);
    return this.current;
  }

  private stateOf(error: string | undefined): RedisState {
    const where = { addr: this.config.addr, topology: this.config.topology ?? 'standalone', node: this.deps.queueNode?.() ?? null };
    return error === undefined ? { ok: true, ...where } : { ok: false, ...where, error };
  }

  private async ping(): Promise<boolean> {
    if (this.deps.connection.status !== 'ready') return false;
    try {
      const ping = this.deps.ping ?? (async () => (await this.deps.connection.ping()) === 'PONG');
      return await withTimeout(ping(), this.config.pingTimeoutMs, 'ping timed out');
    } catch {
      return false;
    }
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
