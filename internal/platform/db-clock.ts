import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import { toError } from './errors.js';
import { LoopService } from './service.js';

export interface DbClockDeps {
  /** The database's time now, in ms since the epoch (`NOW(3)` on MySQL). */
  sample: () => Promise<number>;
  logger: Logger;
}

export interface DbClockConfig {
  /** How often the offset is measured again once known (ms). Default 30 s. */
  resyncMs?: number;
  /** How often a clock that has never been measured tries again (ms). Default 1 s. */
  retryMs?: number;
  /** Round trips per measurement; the fastest one is kept. Default 3. */
  samples?: number;
  /** An offset beyond this is logged as a warning (ms). Default 1 s. */
  warnOffsetMs?: number;
}

/** A measurement: the database's time at a point of this process's monotonic clock. */
interface Anchor {
  dbMs: number;
  monoMs: number;
  /** Half the round trip it came from: how far off it can be. */
  errorMs: number;
}

/**
 * "Now" as the database sees it (G3: leases and due times are judged by the database's clock, so a skew between
 * hosts changes nothing). Every process writes and compares `lease_expires_at`, `run_after` and the like with
 * this clock, so that a process whose own clock runs 25 s ahead neither takes live leases nor claims slots early,
 * and one whose clock runs behind does not hold leases past the recovery timeout.
 *
 * It measures the database's time every `resyncMs` (the fastest of a few round trips, read at their midpoint) and
 * runs from that measurement on this process's monotonic clock (`performance.now()`), so that a step of the wall
 * clock between measurements changes nothing either. Until the first measurement succeeds (the database was down
 * when the process started) it is the process's own clock, and it tries again every `retryMs`.
 */
export class DbClock extends LoopService implements Clock {
  private anchor: Anchor | undefined;
  private readonly resyncMs: number;
  private readonly retryMs: number;

  constructor(
    private readonly deps: DbClockDeps,
    private readonly config: DbClockConfig = {},
  ) {
    super('db-clock', deps.logger, { baseMs: config.retryMs ?? 1000, maxMs: config.retryMs ?? 1000, jitter: 'none' });
    this.resyncMs = config.resyncMs ?? 30_000;
    this.retryMs = config.retryMs ?? 1000;
  }

  now(): number {
    const { anchor } = this;
    if (anchor === undefined) return Date.now();
    return Math.round(anchor.dbMs + (performance.now() - anchor.monoMs));
  }

  /** Whether the database's time has been measured at least once. */
  get synced(): boolean {
    return this.anchor !== undefined;
  }

  /** The database's clock minus this process's wall clock, as last measured (ms); undefined before that. */
  get offsetMs(): number | undefined {
    return this.anchor === undefined ? undefined : this.now() - Date.now();
  }

  /** Measures the database's time now. Rejects when the database cannot be reached. */
  async runOnce(): Promise<void> {
    let best: Anchor | undefined;
    for (let i = 0; i < (this.config.samples ?? 3); i += 1) {
      const before = performance.now();
      const dbMs = await this.deps.sample();
      const after = performance.now();
      const errorMs = (after - before) / 2;
      if (best === undefined || errorMs < best.errorMs) best = { dbMs, monoMs: before + errorMs, errorMs };
    }
    if (best === undefined) return;
    const first = this.anchor === undefined;
    this.anchor = best;
    const offsetMs = Math.round(best.dbMs - (Date.now() - (performance.now() - best.monoMs)));
    const fields = { offsetMs, errorMs: Math.round(best.errorMs * 10) / 10 };
    if (Math.abs(offsetMs) >= (this.config.warnOffsetMs ?? 1000)) {
      if (first) this.deps.logger.warn(fields, "this host's clock differs from the database's; leases and due times follow the database");
    } else if (first) {
      this.deps.logger.info(fields, 'clock measured against the database');
    }
  }

  /**
   * Measures once before the services that read the clock start, waiting at most `timeoutMs` for the database;
   * the loop started by `start()` keeps trying after that.
   */
  async syncAtStart(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      try {
        await this.runOnce();
        return;
      } catch (err) {
        if (performance.now() + this.retryMs > deadline) {
          this.deps.logger.warn({ err: toError(err) }, "could not read the database's clock; using this host's until it answers");
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, this.retryMs));
      }
    }
  }

  protected async step(): Promise<number> {
    await this.runOnce();
    return this.resyncMs;
  }
}
