import { type ScheduledTask, createTask } from 'node-cron';
import type { Logger } from 'pino';
import { toError } from './errors.js';

export interface TickerOptions {
  /** Name used in logs. */
  name: string;
  /** Time between ticks in milliseconds; required unless `schedule` is set. */
  intervalMs?: number;
  /** A node-cron line to tick on instead of an interval, for example `0 0 * * * *` (hourly). */
  schedule?: string;
  /** The work of one tick. A tick never overlaps the previous one; a slow tick makes the next one skip. */
  tick: () => Promise<void>;
  logger: Logger;
}

/**
 * Runs `tick` every `intervalMs`. Intervals a cron line can express (whole seconds or minutes that divide a minute
 * or an hour) run on a node-cron schedule, aligned to the wall clock so that every process ticks together; other
 * intervals (for example 250ms in tests) fall back to a timer.
 */
export class Ticker {
  private task: ScheduledTask | undefined;
  private timer: NodeJS.Timeout | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private stopped = true;

  constructor(private readonly options: TickerOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const { intervalMs, schedule } = this.options;
    const expression = schedule ?? (intervalMs === undefined ? undefined : cronExpressionFor(intervalMs));
    if (expression !== undefined) {
      this.task = createTask(expression, () => this.fire(), { name: this.options.name, noOverlap: true });
      void this.task.start();
    } else if (intervalMs !== undefined) {
      this.timer = setInterval(() => this.fire(), intervalMs);
    } else {
      throw new Error(`ticker ${this.options.name} has neither an interval nor a schedule`);
    }
  }

  /** Runs one tick now unless one is already running; resolves when it ends. */
  fire(): Promise<void> {
    if (this.inFlight !== undefined) return this.inFlight;
    this.inFlight = this.options
      .tick()
      .catch((err: unknown) => {
        this.options.logger.error({ err: toError(err), ticker: this.options.name }, 'tick failed');
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  /**
   * Ticks once more in `ms`, between the regular ticks: for work known to fall due before the next one. A later
   * call replaces an earlier one.
   */
  wakeIn(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      void this.fire();
    }, Math.max(0, ms));
  }

  /** Stops ticking and waits for a tick in flight. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    if (this.task !== undefined) await this.task.destroy();
    this.task = undefined;
    await this.inFlight;
  }
}

/** A six-field cron line for the interval, or undefined when cron cannot express it. */
function cronExpressionFor(intervalMs: number): string | undefined {
  if (intervalMs % 1000 !== 0) return undefined;
  const seconds = intervalMs / 1000;
  if (seconds < 60 && 60 % seconds === 0) return `*/${seconds} * * * * *`;
  const minutes = seconds / 60;
  if (Number.isInteger(minutes) && minutes < 60 && 60 % minutes === 0) return `0 */${minutes} * * * *`;
  return undefined;
}
