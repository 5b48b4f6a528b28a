import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import { TickingService } from '../platform/service.js';
import { withTimeout } from '../platform/timeout.js';
import { type ClaimedSlot, type Store, leaseHeartbeat } from '../store/index.js';
import type { WorkerPool } from './worker-pool.js';

export interface LeaseKeeperDeps {
  store: Store;
  pool: WorkerPool;
  /** The database's clock (`platform/db-clock.ts`): the one every lease time is written and judged with. */
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
 * recovered the slot) stops its run at once.
 *
 * A lease it cannot renew (the store is unreachable, or slow to answer) is given up one heartbeat BEFORE it
 * expires: its run is aborted then, so that by the time recovery elsewhere may start the next attempt, this one has
 * stopped (G3). The keeper knows when each lease runs out (the claim's expiry, moved on by each renewal that
 * answered, with the same clock), and a timer of its own fires at the earliest of those deadlines. It does not
 * wait for a tick, so neither a heartbeat that hangs until its timeout nor a tick that comes late delays the
 * abort.
 */
export class LeaseKeeper extends TickingService {
  private readonly heartbeatMs: number;
  /** When each claim's lease runs out as last renewed; claims never renewed run out at their claim's expiry. */
  private readonly renewedUntil = new WeakMap<ClaimedSlot, number>();
  /** Claims a heartbeat has been sent for: only those can be found not renewable. */
  private readonly attempted = new WeakSet<ClaimedSlot>();
  private deadlineTimer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(
    private readonly deps: LeaseKeeperDeps,
    private readonly config: LeaseKeeperConfig,
  ) {
    const heartbeatMs = Math.max(50, Math.floor(config.leaseMs / 3));
    super('lease-keeper', deps.logger, { intervalMs: heartbeatMs });
    this.heartbeatMs = heartbeatMs;
  }

  protected override async onStart(): Promise<void> {
    this.started = true;
    this.enforceDeadlines();
  }

  protected override async onStop(): Promise<void> {
    this.started = false;
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
  }

  async runOnce(): Promise<void> {
    const now = this.deps.clock.now();
    const claims = this.deps.pool.heldClaims();
    const ids = claims.map((c) => c.task.id);
    for (const claim of claims) this.attempted.add(claim);
    // Their deadlines hold from now on, whatever this heartbeat does.
    this.enforceDeadlines();
    try {
      // Bounded by the time its renewal could still matter (a store that stopped answering). A slow answer still
      // counts: what it wrote is `now + leaseMs`, measured before it was sent. The abort never waits for it: it is
      // the deadline timer's.
      const boundMs = this.config.leaseMs - this.heartbeatMs;
      const held = await withTimeout(
        leaseHeartbeat(this.deps.store, { workerId: this.config.workerId, taskIds: ids, leaseMs: this.config.leaseMs, now: new Date(now) }),
        boundMs,
        `lease heartbeat took longer than ${boundMs} ms`,
      );
      // The renewal wrote now + leaseMs: that is when these leases run out now, by the database's clock.
      const until = now + this.config.leaseMs;
      for (const claim of claims) if (held.get(claim.task.id) === claim.leaseToken) this.renewedUntil.set(claim, until);
      // Compared by token: a claim that ended meanwhile (lease cleared), or a newer claim of the same task, is not
      // a lost one. abandonClaims only touches claims still in the pool.
      const lost = claims.filter((c) => held.get(c.task.id) !== c.leaseToken);
      if (lost.length > 0) this.deps.pool.abandonClaims(lost, 'lease lost: another process recovered the slot');
    } catch (err) {
      this.deps.logger.warn({ err }, 'lease heartbeat failed');
    } finally {
      this.enforceDeadlines();
    }
  }

  /** When the lease of a claim runs out, as far as this process knows. */
  private expiryOf(claim: ClaimedSlot): number {
    const claimed = claim.leaseExpiresAt?.getTime() ?? Number.NEGATIVE_INFINITY;
    return Math.max(claimed, this.renewedUntil.get(claim) ?? Number.NEGATIVE_INFINITY);
  }

  /**
   * Stops every claim whose lease runs out within one heartbeat (its run is aborted; a buffered one is dropped and
   * left to expire), and sets the timer for the next such deadline.
   */
  private enforceDeadlines(): void {
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    const now = this.deps.clock.now();
    const claims = this.deps.pool.heldClaims();
    const deadline = (claim: ClaimedSlot) => this.expiryOf(claim) - this.heartbeatMs;
    // A claim no heartbeat has been sent for yet (it just arrived) is renewed by the next one first: it is given
    // up only once a renewal was tried and not confirmed in time.
    const overdue = claims.filter((c) => deadline(c) <= now && this.attempted.has(c));
    if (overdue.length > 0) {
      this.deps.logger.error(
        { count: overdue.length, heartbeatMs: this.heartbeatMs },
        'leases could not be renewed; stopping their runs one heartbeat before the leases expire',
      );
      this.deps.pool.abandonClaims(overdue, 'lease lost: it could not be renewed before it expires');
    }
    if (!this.started) return;
    const next = Math.min(...claims.filter((c) => deadline(c) > now && this.attempted.has(c)).map(deadline));
    // No claim (or none with a deadline): the next tick looks again; a new claim's deadline is two heartbeats off.
    if (!Number.isFinite(next)) return;
    this.deadlineTimer = setTimeout(() => this.enforceDeadlines(), Math.max(0, next - now));
    this.deadlineTimer.unref?.();
  }
}
