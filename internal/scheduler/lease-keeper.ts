import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import { Ticker } from '../platform/ticker.js';
import { type Store, leaseHeartbeat } from '../store/index.js';
import type { WorkerPool } from './worker-pool.js';

/**
 * Keeps the leases of every slot the pool holds alive, a few times per lease. When the store has been out of
 * reach for a whole lease, other processes may already have recovered those slots: running handlers are
 * aborted, so that a slot never has two attempts running at once.
 */
export class LeaseKeeper {
  private readonly ticker: Ticker;
  private lastSuccess: number;

  constructor(
    private readonly deps: { store: Store; pool: WorkerPool; clock: Clock; logger: Logger },
    private readonly config: { owner: string; leaseMs: number },
  ) {
    this.lastSuccess = deps.clock.now();
    this.ticker = new Ticker({
      name: 'lease-keeper',
      intervalMs: Math.max(50, Math.floor(config.leaseMs / 3)),
      tick: () => this.runOnce(),
      logger: deps.logger,
    });
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
    try {
      await leaseHeartbeat(this.deps.store, {
        owner: this.config.owner,
        taskIds: this.deps.pool.heldTaskIds(),
        leaseMs: this.config.leaseMs,
        now: new Date(now),
      });
      this.lastSuccess = now;
    } catch (err) {
      if (now - this.lastSuccess >= this.config.leaseMs && this.deps.pool.active > 0) {
        this.deps.logger.error({ err }, 'leases could not be renewed for a whole lease; aborting running handlers');
        this.deps.pool.abortRunning('lease lost: the store was unreachable');
      } else {
        this.deps.logger.warn({ err }, 'lease heartbeat failed');
      }
    }
  }
}
