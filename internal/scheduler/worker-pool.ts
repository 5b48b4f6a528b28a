import type { Logger } from 'pino';
import type { Metrics } from '../platform/metrics.js';
import type { ClaimedSlot } from '../store/index.js';
import type { Service } from '../platform/service.js';
import type { Job } from './job.js';

/** Why a running job was aborted when its lease was lost, or could not be renewed in time. */
export class LeaseLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseLostError';
  }
}

/** Runs one job; resolves when its outcome is recorded (or given up on). */
export interface JobRunner {
  /**
   * `signal` aborts this run (lease lost, or the shutdown deadline); `abandoned` aborts only at the shutdown
   * deadline, after which nothing may be recorded: the slot is left to recovery. The runner calls `handlerDone`
   * when its handler has returned and only the recording is left, so that the pool may start another run.
   */
  execute(job: Job, signal: AbortSignal, abandoned: AbortSignal, handlerDone: () => void): Promise<void>;
}

export interface WorkerPoolDeps {
  runner: JobRunner;
  /** Gives back the leases of claims the pool will not run (it is full, or stopping): their slots are due again. */
  releaseClaims: (claims: readonly ClaimedSlot[]) => Promise<void>;
  metrics: Metrics;
  logger: Logger;
}

export interface WorkerPoolConfig {
  /**
   * Handlers running at once (APP_WORKER_POOL_SIZE). As many more runs may be recording their outcomes, which
   * waits on the store and not on a handler.
   */
  size: number;
  /** Jobs buffered beyond the executing ones (APP_QUEUE_CAPACITY). */
  capacity: number;
  /** How long `stop()` waits for running jobs to finish and be recorded (APP_SHUTDOWN_TIMEOUT, ms). */
  shutdownTimeoutMs: number;
}

/**
 * A fixed number of concurrent runs fed from a bounded, priority-ordered buffer. Sources ask for `room()` before
 * they fetch, so memory stays bounded: backpressure, not an unbounded queue. It is a {@link Service} without a loop
 * of its own: it works when jobs are offered, and `stop()` drains it (G7).
 *
 * A run holds a worker while it starts and while its handler runs. Once the handler has returned, the run gives
 * its worker to the next job and records its outcome beside it, as long as fewer than `size` runs are recording
 * already; past that it keeps its worker until a recording place comes free. At most `size` runs holding workers,
 * `size` recording and `capacity` buffered are held at once. A run's lease is kept, and `stop()` waits for it,
 * until it is recorded.
 */
export class WorkerPool implements Service {
  /** Buffered jobs by priority, index 0 = priority 1. FIFO within a priority. */
  private readonly buffer: Job[][] = [[], [], [], [], []];
  private bufferedCount = 0;
  /** Every run in flight, starting, running its handler or recording; each one's abort. */
  private readonly running = new Map<Job, AbortController>();
  /** Runs in flight that hold a worker: those not yet past their handler, and those recording with no room to. */
  private working = 0;
  /** Runs whose handlers are done but that found no room to record without their workers, oldest first. */
  private waitingToRecord: (() => void)[] = [];
  private roomWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private accepting = true;
  /** Aborted when the shutdown deadline passes with runs still going. */
  private readonly abandon = new AbortController();
  private stopping: Promise<void> | undefined;
  /** Once stopped: how many buffered jobs were given back, and how many runs the deadline cut short. */
  drained: { released: number; abandoned: number } | undefined;

  constructor(
    private readonly deps: WorkerPoolDeps,
    private readonly config: WorkerPoolConfig,
  ) {
    deps.metrics.poolSize.set(config.size);
  }

  /** The pool accepts jobs from the moment it is built; `start()` is here for the service shape. */
  start(): Promise<void> {
    return Promise.resolve();
  }

  /** Runs holding a worker. */
  get active(): number {
    return this.working;
  }

  /** Runs past their handler, recording their outcomes without a worker. */
  get recording(): number {
    return this.running.size - this.working;
  }

  /** How many more jobs the pool accepts now. */
  room(): number {
    if (!this.accepting) return 0;
    return Math.max(0, this.config.size + this.config.capacity - this.working - this.bufferedCount);
  }

  /** Adds a job. Returns false when the pool is full or stopping; the caller must then give the claim back. */
  offer(job: Job): boolean {
    if (this.room() <= 0) return false;
    const lane = this.buffer[Math.min(5, Math.max(1, job.claim.task.priority)) - 1] as Job[];
    lane.push(job);
    this.bufferedCount += 1;
    this.pump();
    return true;
  }

  /**
   * Offers every job, and gives back the lease of each the pool refused (it filled up, or is stopping), so that
   * its slot is due again at once. Returns how many were accepted.
   */
  async offerAll(jobs: readonly Job[]): Promise<number> {
    const refused = jobs.filter((job) => !this.offer(job));
    if (refused.length > 0) await this.deps.releaseClaims(refused.map((job) => job.claim));
    return jobs.length - refused.length;
  }
  /** Resolves when room() > 0 (at once if it already is), or when the pool stops accepting. */
  whenRoom(): Promise<void> {
    if (this.room() > 0 || !this.accepting) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** Every claim the pool holds (running or buffered): the leases to keep alive. */
  heldClaims(): ClaimedSlot[] {
    const claims = [...this.running.keys()].map((j) => j.claim);
    for (const lane of this.buffer) for (const job of lane) claims.push(job.claim);
    return claims;
  }

  /**
   * Stops the jobs of these claims, if still in the pool: running ones are aborted, buffered ones dropped (their
   * leases are gone, so they are not this process's to run). Returns how many were stopped.
   */
  abandonClaims(claims: readonly ClaimedSlot[], reason: string): number {
    const lost = new Set(claims);
    let stopped = 0;
    for (const [job, controller] of this.running) {
      if (lost.has(job.claim)) {
        controller.abort(new LeaseLostError(reason));
        stopped += 1;
      }
    }
    for (const lane of this.buffer) {
      for (let i = lane.length - 1; i >= 0; i -= 1) {
        if (lost.has((lane[i] as Job).claim)) {
          lane.splice(i, 1);
          this.bufferedCount -= 1;
          stopped += 1;
        }
      }
    }
    if (stopped > 0) {
      this.deps.logger.warn({ stopped, reason }, 'stopped jobs whose leases were lost');
      this.wakeRoomWaiters();
    }
    return stopped;
  }

  /** Aborts every running job because this process may be losing its leases. */
  abortRunning(reason: string): void {
    for (const controller of this.running.values()) controller.abort(new LeaseLostError(reason));
  }

  /**
   * Stops taking jobs and gives back the buffered ones, then waits up to the shutdown timeout for the running ones
   * to finish and be recorded. Runs still going at the deadline are aborted and left for recovery. Idempotent.
   */
  stop(): Promise<void> {
    this.stopping ??= this.drain();
    return this.stopping;
  }

  private async drain(): Promise<void> {
    this.accepting = false;
    const released = this.buffer.flatMap((lane) => lane.splice(0));
    this.bufferedCount = 0;
    this.wakeRoomWaiters();
    try {
      await this.deps.releaseClaims(released.map((job) => job.claim));
    } catch (err) {
      this.deps.logger.warn({ err, count: released.length }, 'could not give back buffered claims; they expire');
    }
    const drained = await this.waitIdle(this.config.shutdownTimeoutMs);
    const abandoned = drained ? 0 : this.running.size;
    if (!drained) {
      const reason = new Error('shutdown timeout: left for recovery');
      this.abandon.abort(reason);
      for (const controller of this.running.values()) controller.abort(reason);
    }
    this.drained = { released: released.length, abandoned };
  }

  private waitIdle(timeoutMs: number): Promise<boolean> {
    if (this.running.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  private pump(): void {
    while (this.working < this.config.size && this.bufferedCount > 0) {
      const job = this.takeHighest();
      if (job === undefined) break;
      const controller = new AbortController();
      this.running.set(job, controller);
      this.working += 1;
      this.reportGauges();
      let holdsWorker = true;
      const freeWorker = () => {
        if (!holdsWorker) return false;
        holdsWorker = false;
        this.working -= 1;
        this.reportGauges();
        return true;
      };
      const handOver = () => {
        if (!freeWorker()) return;
        this.pump();
        this.wakeRoomWaiters();
      };
      const handlerDone = () => {
        if (!holdsWorker) return;
        if (this.recording < this.config.size) handOver();
        else this.waitingToRecord.push(handOver);
      };
      this.deps.runner
        .execute(job, controller.signal, this.abandon.signal, handlerDone)
        .catch((err: unknown) => this.deps.logger.error({ err, taskId: job.claim.task.id }, 'run failed unexpectedly'))
        .finally(() => {
          const wasRecording = !holdsWorker;
          freeWorker();
          this.running.delete(job);
          this.reportGauges();
          // A recording place came free: the run waiting longest for one gives up its worker.
          if (wasRecording) this.waitingToRecord.shift()?.();
          else this.waitingToRecord = this.waitingToRecord.filter((wake) => wake !== handOver);
          this.pump();
          this.wakeRoomWaiters();
          if (this.running.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
        });
    }
  }

  private reportGauges(): void {
    this.deps.metrics.poolActive.set(this.working);
    this.deps.metrics.poolRecording.set(this.recording);
  }

  private takeHighest(): Job | undefined {
    for (let i = this.buffer.length - 1; i >= 0; i -= 1) {
      const job = this.buffer[i]?.shift();
      if (job !== undefined) {
        this.bufferedCount -= 1;
        return job;
      }
    }
    return undefined;
  }

  private wakeRoomWaiters(): void {
    if (this.room() <= 0 && this.accepting) return;
    for (const wake of this.roomWaiters.splice(0)) wake();
  }
}
