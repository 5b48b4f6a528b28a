import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import type { Service } from '../platform/service.js';
import { type RunSource, type Store, slotClaimByIds, taskTakenBy } from '../store/index.js';
import type { LeaseKeeper } from './lease-keeper.js';
import type { ModeController } from './mode-controller.js';
import type { StreamSource } from './stream-source.js';
import type { DirectScheduling } from './task-handoff.js';
import type { SchedulerMode } from './task-source.js';
import type { WorkerPool } from './worker-pool.js';

/** The scheduler's parts, built by the composition root (`internal/app`). */
export interface SchedulerDeps {
  store: Store;
  pool: WorkerPool;
  /** Picks the task source (stream or polling) and keeps it right. */
  modeController: ModeController;
  /** Renews the leases of everything the pool holds; stopped last, so that draining runs keep their leases. */
  leaseKeeper: LeaseKeeper;
  /** Whatever else runs whatever the mode (recovery, housekeeping, the notifier), started in this order. */
  background: readonly Service[];
  /** The stream source, in stream mode; tests hold it to keep entries in the stream. */
  streamSource: StreamSource | undefined;
  clock: Clock;
  logger: Logger;
}

export interface SchedulerConfig {
  /** This process's worker id: lease owner, consumer name, and the `worker` of each run. */
  workerId: string;
  /** Lease length (ms). */
  leaseMs: number;
  /** Task types this process runs as globs, or null for all. */
  typePatterns: readonly string[] | null;
}

/**
 * The scheduler: a worker pool fed by the stream or by polling, with recovery, lease upkeep, housekeeping and
 * notification delivery beside it. It starts its parts in order and stops them in reverse (G7), and takes tasks
 * handed to it directly.
 */
export class Scheduler implements Service, DirectScheduling {
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly deps: SchedulerDeps,
    private readonly config: SchedulerConfig,
  ) {}

  get mode(): SchedulerMode {
    return this.deps.modeController.mode;
  }

  async start(): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'running';
    await this.deps.leaseKeeper.start();
    for (const service of this.deps.background) await service.start();
    await this.deps.modeController.start();
    this.deps.logger.info({ mode: this.mode, worker: this.config.workerId }, 'scheduler started');
  }

  /**
   * Hands one task to this process directly (the API's fallback when the publish fails, or when streams are
   * off). Returns true when this process holds the slot (claimed here, or by its own poller a moment earlier), and
   * false when it does not: it is not due, another process holds it, or the pool is full. The row stays due either
   * way, so the poller or publisher picks it up.
   */
  async enqueueDirect(taskId: number, source: RunSource = 'direct'): Promise<boolean> {
    const { store, pool, clock } = this.deps;
    if (this.state !== 'running' || pool.room() <= 0) return false;
    const { claimed } = await slotClaimByIds(store, {
      ids: [taskId],
      workerId: this.config.workerId,
      leaseToken: randomUUID(),
      leaseMs: this.config.leaseMs,
      now: new Date(clock.now()),
      typePatterns: this.config.typePatterns,
      channelOf: () => source,
    });
    if ((await pool.offerAll(claimed.map((claim) => ({ claim })))) > 0) return true;
    // This process's own poller may have claimed (or even run) it a moment earlier: it is in this scheduler's hands.
    return claimed.length === 0 && (await taskTakenBy(store, { id: taskId, workerId: this.config.workerId }));
  }

  /** Stops reading the stream (stream mode), so that entries stay in it; for tests. */
  pauseStreamReads(): Promise<void> {
    return this.deps.streamSource?.stop() ?? Promise.resolve();
  }

  /** Reads the stream again after {@link pauseStreamReads}. */
  resumeStreamReads(): Promise<void> {
    return this.deps.streamSource?.start() ?? Promise.resolve();
  }

  /**
   * Graceful stop: takes no new work, gives back buffered claims, lets runs in flight finish and record within
   * the shutdown timeout, and leaves anything still running for recovery. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    const { pool, modeController, background, leaseKeeper, logger } = this.deps;
    // The pool closes first. Otherwise a source parked in whenRoom() (a full pool) keeps the stop waiting until a
    // run ends, however long that is, and that run's end starts a buffered claim after the signal. Closing it
    // also starts the shutdown timeout at the signal. A source that claims while it closes gets its offer
    // refused and gives the claim back itself.
    const draining = pool.stop();
    await modeController.stop();
    for (const service of [...background].reverse()) await service.stop();
    await draining;
    await leaseKeeper.stop();
    this.state = 'stopped';
    logger.info({ released: pool.drained?.released ?? 0, abandoned: pool.drained?.abandoned ?? 0 }, 'scheduler stopped');
  }
}
