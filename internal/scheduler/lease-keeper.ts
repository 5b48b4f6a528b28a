import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import { Ticker } from '../platform/ticker.js';
import { type Store, leaseHeartbeat } from '../store/index.js';
import type { WorkerPool } from './worker-pool.js';

/**
 * Keeps the leases of every slot the pool holds alive, three times per lease. A lease found lost (another process
 * recovered the slot) stops its run at once. When the store cannot be reached, running handlers are aborted before
 * the leases can expire, so that a slot never has two attempts running at once.
 */
export class LeaseKeeper {
  private readonly ticker: Ticker;
  private readonly intervalMs: number;
  private lastSuccess: number;

  constructor(
    private readonly deps: { store: Store; pool: WorkerPool; clock: Clock; logger: Logger },
    private readonly config: { owner: string; leaseMs: number },
  ) {
    this.lastSuccess = deps.clock.now();
    this.intervalMs = Math.max(50, Math.floor(config.leaseMs / 3));
    this.ticker = new Ticker({ name: 'lease-keeper', intervalMs: this.intervalMs, tick: () => this.runOnce(), logger: deps.logger });
  }

  start(): void {
    this.lastSuccess = this.deps.clock.now();
    this.ticker.start();
  }

  stop(): Promise<void> {
    return this.ticker.stop();
  }

  async runOnce(): Promise<void> {
    const now = this.deps.clock.now();
    const claims = this.deps.pool.heldClaims();
    const ids = claims.map((c) => c.task.id);
    try {
      // Bounded: a heartbeat that hangs (a store that stopped answering) must not stop the abort below.
      const held = await withTimeout(
        leaseHeartbeat(this.deps.store, { owner: this.config.owner, taskIds: ids, leaseMs: this.config.leaseMs, now: new Date(now) }),
        this.intervalMs,
      );
      this.lastSuccess = now;
      // Compared by token: a claim that ended meanwhile (lease cleared), or a newer claim of the same task, is not
      // a lost one. abandonClaims only touches claims still in the pool.
      const lost = claims.filter((c) => held.get(c.task.id) !== c.leaseToken);
      if (lost.length > 0) this.deps.pool.abandonClaims(lost, 'lease lost: another process recovered the slot');
    } catch (err) {
      // Abort one heartbeat before the leases run out: after that, recovery elsewhere may start the next attempt.
      if (now - this.lastSuccess >= this.config.leaseMs - this.intervalMs && this.deps.pool.active > 0) {
        this.deps.logger.error({ err }, 'leases could not be renewed; aborting running handlers before they expire');
        this.deps.pool.abortRunning('lease lost: the store was unreachable');
      } else {
        this.deps.logger.warn({ err }, 'lease heartbeat failed');
      }
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`lease heartbeat took longer than ${ms} ms`)), ms);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
