import type { Logger } from 'pino';
import type { Metrics } from '../platform/metrics.js';
import { Ticker } from '../platform/ticker.js';
import { type Redis, redisAnswers } from '../taskqueue/index.js';
import type { SchedulerMode, TaskSource } from './task-source.js';

export interface ModeControllerDeps {
  /** Absent when no Redis is configured. */
  redis: Redis | undefined;
  /** Stream mode: the source, and what must run beside it (the publisher, group setup). */
  streamMode: { source: TaskSource; start(): Promise<void>; stop(): Promise<void> } | undefined;
  pollingSource: TaskSource;
  metrics: Metrics;
  logger: Logger;
}

export interface RedisState {
  configured: boolean;
  ok: boolean;
  error?: string;
}

/**
 * Picks the mode and keeps it right. With APP_ENABLE_REDIS_QUEUE on, stream mode runs while Redis answers and
 * polling mode while it does not; every switch is logged and shown in /healthz. With the flag off, or no Redis,
 * it always polls.
 */
export class ModeController {
  private current: TaskSource | undefined;
  private redisState: RedisState;
  private readonly ticker: Ticker;
  private switching: Promise<void> = Promise.resolve();

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
    this.ticker.start();
  }

  async stop(): Promise<void> {
    await this.ticker.stop();
    await this.switching;
    const current = this.current;
    this.current = undefined;
    if (current?.mode === 'redis_streams') await this.deps.streamMode?.stop();
    await current?.stop();
  }

  /** Probes Redis and switches mode if needed. */
  async runOnce(): Promise<void> {
    if (this.deps.redis !== undefined) {
      const ok = await redisAnswers(this.deps.redis);
      this.redisState = ok
        ? { configured: true, ok: true }
        : { configured: true, ok: false, error: `redis unreachable (${this.deps.redis.status})` };
    }
    const wanted: SchedulerMode = this.deps.streamMode !== undefined && this.redisState.ok ? 'redis_streams' : 'db_polling';
    if (this.current?.mode === wanted) return;
    this.switching = this.switchTo(wanted);
    await this.switching;
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
        this.deps.logger.warn({ err }, 'stream mode could not start; polling instead');
        next = this.deps.pollingSource;
      }
    }
    next = next ?? this.deps.pollingSource;
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
