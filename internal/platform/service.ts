import type { Logger } from 'pino';
import { Backoff, type BackoffPolicy } from './backoff.js';
import { toError } from './errors.js';
import { delay } from './lifecycle.js';
import { Ticker, type TickerOptions } from './ticker.js';

/**
 * The shape every background component shares (after river's `BaseStartStop`): `start()` and an idempotent
 * `stop()`; where the component ticks, a `runOnce()` that tests call directly.
 */
export interface Service {
  /** Starts the service; calling it while it runs does nothing. */
  start(): Promise<void>;
  /** Stops it and resolves when all its work has ended; calling it again, or before start, does nothing. */
  stop(): Promise<void>;
}

/**
 * The base of every background service. `start()` runs `onStart()` once, then launches `run(signal)`; `stop()`
 * aborts the signal and waits for `run` to return, then runs `onStop()`. Both are idempotent, concurrent calls
 * share one transition, and a stopped service can be started again.
 */
export abstract class BackgroundService implements Service {
  private controller: AbortController | undefined;
  private running: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    /** Used in logs. */
    protected readonly serviceName: string,
    protected readonly logger: Logger,
  ) {}

  /** Whether the service is started (from the beginning of `start()`) and no stop has been asked for. */
  get isRunning(): boolean {
    return this.controller !== undefined && !this.controller.signal.aborted;
  }

  start(): Promise<void> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  stop(): Promise<void> {
    if (this.starting === undefined) return Promise.resolve();
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  /** One pass of the service's work, for its loop and for tests. */
  abstract runOnce(): Promise<unknown>;

  /** Work to finish before `start()` resolves (a first probe, say). */
  protected onStart(): Promise<void> {
    return Promise.resolve();
  }

  /** The service's work until `signal` aborts. */
  protected abstract run(signal: AbortSignal): Promise<void>;

  /** Work after `run` has returned (giving back what the service held, say). */
  protected onStop(): Promise<void> {
    return Promise.resolve();
  }

  private async doStart(): Promise<void> {
    const controller = new AbortController();
    this.controller = controller;
    await this.onStart();
    if (controller.signal.aborted) return;
    this.running = this.run(controller.signal).catch((err: unknown) => {
      this.logger.error({ err: toError(err), service: this.serviceName }, 'background service stopped on an unexpected error');
    });
  }

  private async doStop(): Promise<void> {
    this.controller?.abort();
    await this.starting?.catch(() => undefined);
    await this.running;
    await this.onStop();
    this.controller = undefined;
    this.running = undefined;
    this.starting = undefined;
    this.stopping = undefined;
  }
}

/** When a {@link TickingService} ticks: every `intervalMs`, or on a node-cron line. */
export type TickEvery = Pick<TickerOptions, 'intervalMs' | 'schedule'>;

/**
 * A service that does its work on a tick (recovery, the lease keeper, the publisher, housekeeping): `runOnce()`
 * every interval or on a cron line, never overlapping itself; a tick that fails is logged and the next one comes.
 */
export abstract class TickingService extends BackgroundService {
  private ticker: Ticker | undefined;

  constructor(
    serviceName: string,
    logger: Logger,
    private readonly every: TickEvery,
    /** Whether the first tick comes at once rather than after one interval. Default false. */
    private readonly tickAtStart = false,
  ) {
    super(serviceName, logger);
  }

  /** What one tick does; by default `runOnce()`. */
  protected async tick(): Promise<void> {
    await this.runOnce();
  }

  /** Ticks once more in `ms`, between the regular ticks, for work known to fall due before the next one. */
  protected wakeIn(ms: number): void {
    this.ticker?.wakeIn(ms);
  }

  protected async run(signal: AbortSignal): Promise<void> {
    const ticker = new Ticker({ name: this.serviceName, ...this.every, tick: () => this.tick(), logger: this.logger });
    this.ticker = ticker;
    ticker.start();
    if (this.tickAtStart) void ticker.fire();
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    this.ticker = undefined;
    await ticker.stop();
  }
}

/**
 * A service that works in a loop as fast as its work allows (the task sources): each `step()` says how long to wait
 * before the next; a step that throws is logged and retried after the backoff policy's delay, which grows while the
 * failures last and starts over after a success.
 */
export abstract class LoopService extends BackgroundService {
  constructor(
    serviceName: string,
    logger: Logger,
    private readonly backoff: BackoffPolicy,
  ) {
    super(serviceName, logger);
  }

  /** One pass of the loop; resolves with the milliseconds to wait before the next (0: at once). */
  protected abstract step(signal: AbortSignal): Promise<number>;

  /** Told of every failed step, before the wait. By default logs the first failure and every 30th. */
  protected onStepFailed(err: unknown, failures: number): void {
    if (failures === 1 || failures % 30 === 0) {
      this.logger.warn({ err: toError(err), service: this.serviceName, failures }, `${this.serviceName} failed; retrying`);
    }
  }

  protected async run(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff(this.backoff);
    while (!signal.aborted) {
      let wait: number;
      try {
        wait = await this.step(signal);
        backoff.reset();
      } catch (err) {
        if (signal.aborted) break;
        wait = backoff.next();
        this.onStepFailed(err, backoff.failures);
      }
      if (wait > 0) await delay(wait, signal);
    }
  }
}
