import type { Logger } from 'pino';
import type { Metrics } from '../platform/metrics.js';
import { Ticker } from '../platform/ticker.js';
import { type Redis, redisAnswers } from '../taskqueue/index.js';
import type { SchedulerMode, TaskSource } from './task-source.js';

export interface ModeControllerDeps {
  /** Absent when no Redis is configured. */
  redis: Redis | undefined;
  /**
   * Stream mode: the source, what must run beside it (the publisher, group setup), and a write probe, which tells
   * whether Redis takes writes again after stream commands kept failing while PING still answered.
   */
  streamMode:
    | { source: TaskSource; start(): Promise<void>; stop(): Promise<void>; probeWrite(): Promise<boolean> }
    | undefined;
  pollingSource: TaskSource;
  metrics: Metrics;
  logger: Logger;
}

export interface RedisState {
  configured: boolean;
  ok: boolean;
  error?: string;
}

/** Consecutive failures of stream commands after which stream mode is given up until a write goes through. */
const STREAM_FAILURES_BEFORE_FALLBACK = 3;

/**
 * Picks the mode and keeps it right. With APP_ENABLE_REDIS_QUEUE on, stream mode runs while Redis answers and
 * takes writes, and polling mode otherwise; every switch is logged and shown in /healthz. With the flag off, or no
 * Redis, it always polls. A Redis that answers PING but refuses stream commands (out of memory, read-only replica,
 * MISCONF) is caught by the sources reporting their failures here.
 */
export class ModeController {
  private current: TaskSource | undefined;
  private redisState: RedisState;
  private readonly ticker: Ticker;
  private inFlight: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Consecutive failures per component (reader, publisher): one working must not hide the other failing. */
  private readonly streamFailures = new Map<string, number>();
  /** Set while stream commands fail although Redis answers PING; cleared by a successful write probe. */
  private streamBroken: string | undefined;

  constructor(
    private readonly deps: ModeControllerDeps,
    config: { probeIntervalMs: number },
  ) {
    this.redisState = { configured: deps.redis !== undefined, ok: false };
    this.ticker = new Ticker({ name: 'mode-controller', intervalMs: config.probeIntervalMs, tick: () => this.runOnce(), logger: deps.logger });
  }

  get mode(): SchedulerMode {
    return this.current?.mode ?? (this.deps.streamMode !== undefined && this.redisState.ok ? 'redis_streams' : 'db_polling');
  }

  get redis(): RedisState {
    return this.redisState;
  }

  async start(): Promise<void> {
    await this.runOnce();
    if (!this.stopped) this.ticker.start();
  }

  /** Stops probing and the current source; waits for a probe or switch in progress. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.ticker.stop();
    await this.inFlight;
    const current = this.current;
    this.current = undefined;
    if (current?.mode === 'redis_streams') await this.deps.streamMode?.stop();
    await current?.stop();
  }

  /** A stream command of `component` (the reader, the publisher) worked. */
  reportStreamSuccess(component: string): void {
    this.streamFailures.set(component, 0);
  }

  /** A stream command failed; a few in a row from one component make the next probe fall back to polling. */
  reportStreamFailure(component: string, err: unknown): void {
    const failures = (this.streamFailures.get(component) ?? 0) + 1;
    this.streamFailures.set(component, failures);
    if (failures >= STREAM_FAILURES_BEFORE_FALLBACK && this.streamBroken === undefined) {
      this.streamBroken = `redis refuses stream commands: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  /** Probes Redis and switches mode if needed. */
  runOnce(): Promise<void> {
    this.inFlight = this.inFlight.then(() => this.probeAndSwitch());
    return this.inFlight;
  }

  private async probeAndSwitch(): Promise<void> {
    if (this.stopped) return;
    if (this.deps.redis !== undefined) {
      const answers = await redisAnswers(this.deps.redis);
      if (answers && this.streamBroken !== undefined && (await this.deps.streamMode?.probeWrite()) === true) {
        this.streamBroken = undefined;
        this.streamFailures.clear();
      }
      const error = !answers ? `redis unreachable (${this.deps.redis.status})` : this.streamBroken;
      this.redisState = error === undefined ? { configured: true, ok: true } : { configured: true, ok: false, error };
    }
    const wanted: SchedulerMode = this.deps.streamMode !== undefined && this.redisState.ok ? 'redis_streams' : 'db_polling';
    if (this.current?.mode === wanted || this.stopped) return;
    await this.switchTo(wanted);
  }

  private async switchTo(mode: SchedulerMode): Promise<void> {
    const previous = this.current;
    if (previous !== undefined) {
      if (previous.mode === 'redis_streams') await this.deps.streamMode?.stop();
      await previous.stop();
    }
    let next = mode === 'redis_streams' ? this.deps.streamMode?.source : this.deps.pollingSource;
    if (mode === 'redis_streams') {
      try {
        await this.deps.streamMode?.start();
      } catch (err) {
        // Groups cannot be created (for example Redis refuses writes): poll until a write probe goes through.
        this.streamBroken = `stream mode could not start: ${err instanceof Error ? err.message : String(err)}`;
        this.redisState = { configured: true, ok: false, error: this.streamBroken };
        this.deps.logger.warn({ err }, 'stream mode could not start; polling instead');
        next = this.deps.pollingSource;
      }
    }
    next = next ?? this.deps.pollingSource;
    if (this.stopped) return;
    next.start();
    this.current = next;
    for (const m of ['redis_streams', 'db_polling'] as const) this.deps.metrics.mode.set({ mode: m }, m === next.mode ? 1 : 0);
    if (previous === undefined) return;
    this.deps.logger.warn(
      { from: previous.mode, to: next.mode, reason: this.redisState.error ?? 'redis is reachable again' },
      'scheduler mode switched',
    );
  }
}
