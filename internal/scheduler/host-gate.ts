import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { RunTarget } from '../handlers/index.js';
import type { Clock } from '../platform/clock.js';
import { type HostLimits, type HostPermitVerdict, type Store, hostPermitAcquire, hostPermitRelease, hostPermitRenew } from '../store/index.js';

/**
 * Politeness per host: at most N requests in flight and R started per window to one host, counted across every
 * process. In stream mode the count lives in Redis (`internal/taskqueue`'s `RedisHostPermits`); in polling mode,
 * and whenever Redis fails, in the database (`host_permits`), so it holds with SQLite too. A permit in flight is a
 * lease: it is renewed while its request runs, and expires if its process dies, so a crash frees its place.
 */

/** What the gate needs of a place to count permits in; the store and Redis each provide one. */
export interface HostPermitBackend {
  acquire(params: { host: string; token: string; limits: HostLimits; leaseMs: number }): Promise<HostPermitVerdict>;
  renew(params: { host: string; token: string; leaseMs: number }): Promise<void>;
  release(params: { host: string; token: string }): Promise<void>;
}

export interface HostGateDeps {
  store: Store;
  /** Redis' permits, when stream mode is possible. */
  redis?: HostPermitBackend | undefined;
  /** Whether this process counts in Redis now (it is in stream mode). */
  useRedis: () => boolean;
  clock: Clock;
  logger: Logger;
}

export interface HostGateConfig {
  /** APP_HOST_CONCURRENCY and APP_HOST_RATE; a task's `host_limit` replaces either. */
  defaults: HostLimits;
  /** How long a permit in flight lasts without renewal (the run lease): a dead process's permits free after it. */
  leaseMs: number;
}

/** A place taken for one request; release it when the request ends. */
export interface HostPermit {
  release(): Promise<void>;
}

export type HostAdmission = { ok: true; permit: HostPermit } | { ok: false; retryInMs: number; reason: 'concurrency' | 'rate' };

const NO_PERMIT: HostPermit = { release: () => Promise.resolve() };

export class HostGate {
  private readonly storeBackend: HostPermitBackend;

  constructor(
    private readonly deps: HostGateDeps,
    private readonly config: HostGateConfig,
  ) {
    const { store, clock } = deps;
    this.storeBackend = {
      acquire: (p) => hostPermitAcquire(store, { ...p, now: new Date(clock.now()) }),
      renew: (p) => hostPermitRenew(store, { ...p, now: new Date(clock.now()) }),
      release: (p) => hostPermitRelease(store, p),
    };
  }

  /** The limits a run to `target` is held to: the task's own where it sets them, else the process's. */
  limitsFor(target: RunTarget): HostLimits {
    return {
      concurrency: target.concurrency ?? this.config.defaults.concurrency,
      rate: target.rate ?? this.config.defaults.rate,
    };
  }

  /**
   * Takes a place for one request to the target's host, or says how long to wait. Never throws: when neither Redis
   * nor the store can count, the request goes ahead (politeness is not worth failing a check over; the store being
   * down fails the run's own records anyway).
   */
  async admit(target: RunTarget): Promise<HostAdmission> {
    const limits = this.limitsFor(target);
    if (limits.concurrency === null && limits.rate === null) return { ok: true, permit: NO_PERMIT };
    const token = randomUUID();
    const backends = this.deps.redis !== undefined && this.deps.useRedis() ? [this.deps.redis, this.storeBackend] : [this.storeBackend];
    for (const backend of backends) {
      try {
        const verdict = await backend.acquire({ host: target.host, token, limits, leaseMs: this.config.leaseMs });
        if (!verdict.ok) return verdict;
        return { ok: true, permit: limits.concurrency === null ? NO_PERMIT : this.held(backend, target.host, token) };
      } catch (err) {
        this.deps.logger.warn({ err, host: target.host }, 'could not count requests to the host; trying the next place to count them');
      }
    }
    return { ok: true, permit: NO_PERMIT };
  }

  /** A permit in flight, renewed every third of its lease until released. */
  private held(backend: HostPermitBackend, host: string, token: string): HostPermit {
    const { leaseMs } = this.config;
    const timer = setInterval(() => {
      backend.renew({ host, token, leaseMs }).catch((err: unknown) => this.deps.logger.warn({ err, host }, 'could not renew a host permit'));
    }, Math.max(50, Math.floor(leaseMs / 3)));
    timer.unref();
    let released: Promise<void> | undefined;
    return {
      release: () => {
        clearInterval(timer);
        released ??= backend.release({ host, token }).catch((err: unknown) => {
          // It expires at the end of its lease.
          this.deps.logger.warn({ err, host }, 'could not release a host permit');
        });
        return released;
      },
    };
  }
}
