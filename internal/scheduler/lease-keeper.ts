import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import { TickingService } from '../platform/service.js';
import { withTimeout } from '../platform/timeout.js';
import { type Store, leaseHeartbeat } from '../store/index.js';
import type { WorkerPool } from './worker-pool.js';

export interface LeaseKeeperDeps {
  store: Store;
  pool: WorkerPool;
  clock: Clock;
  logger: Logger;
}

export interface LeaseKeeperConfig {
  /** This process's worker id: the owner of the leases it renews. */
  workerId: string;
  /** Lease length in ms; the keeper renews three times per lease. */
  leaseMs: number;
}

/**
 * Keeps the leases of every slot the pool holds alive, three times per lease. A lease found lost (another process
 * recovered the slot) stops its run at once. When the store cannot be reached, running handlers are aborted before
 * the leases can expire, so that a slot never has two attempts running at once.
 */
export class LeaseKeeper extends TickingService {
  private readonly heartbeatMs: number;
  private lastSuccess: number;

  constructor(
    private readonly deps: LeaseKeeperDeps,
    private readonly config: LeaseKeeperConfig,
  ) {
    const heartbeatMs = Math.max(50, Math.floor(config.leaseMs / 3));
    super('lease-keeper', deps.logger, { intervalMs: heartbeatMs });
    this.heartbeatMs = heartbeatMs;
    this.lastSuccess = deps.clock.now();
  }

  protected override async onStart(): Promise<void> {
    this.lastSuccess = this.deps.clock.now();
  }

  async runOnce(): Promise<void> {
    const now = this.deps.clock.now();
    const claims = this.deps.pool.heldClaims();
    const ids = claims.map((c) => c.task.id);
    try {
      // Bounded: a heartbeat that hangs (a store that stopped answering) must not stop the abort below.
      const held = await withTimeout(
        leaseHeartbeat(this.deps.store, { workerId: this.config.workerId, taskIds: ids, leaseMs: this.config.leaseMs, now: new Date(now) }),
        this.heartbeatMs,
        `lease heartbeat took longer than ${this.heartbeatMs} ms`,
      );
      this.lastSuccess = now;
      // Compared by token: a claim that ended meanwhile (lease cleared), or a newer claim of the same task, is not
      // a lost one. abandonClaims only touches claims still in the pool.
      const lost = claims.filter((c) => held.get(c.task.id) !== c.leaseToken);
      if (lost.length > 0) this.deps.pool.abandonClaims(lost, 'lease lost: another process recovered the slot');
    } catch (err) {
      // Abort one heartbeat before the leases run out: after that, recovery elsewhere may start the next attempt.
      if (now - this.lastSuccess >= this.config.leaseMs - this.heartbeatMs && this.deps.pool.active > 0) {
        this.deps.logger.error({ err }, 'leases could not be renewed; aborting running handlers before they expire');
        this.deps.pool.abortRunning('lease lost: the store was unreachable');
      } else {
        this.deps.logger.warn({ err }, 'lease heartbeat failed');
      }
    }
  }
}
