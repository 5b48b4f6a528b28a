import type { Logger } from 'pino';
import type { Metrics } from '../platform/metrics.js';
import { TickingService } from '../platform/service.js';
import type { QueueHealth } from './queue-broker.js';
import type { SchedulerMode, TaskSource } from './task-source.js';

export interface ModeControllerDeps {
  /**
   * Stream mode, when it is wanted (Redis configured and APP_ENABLE_REDIS_QUEUE on): the queue's health, the source,
   * and what must run beside it (group set-up, the publisher).
   */
  streamMode: { health: QueueHealth; source: TaskSource; start(): Promise<void>; stop(): Promise<void> } | undefined;
  pollingSource: TaskSource;
  metrics: Metrics;
  logger: Logger;
}

export interface ModeControllerConfig {
  /** How often Redis is probed and the mode reconsidered (ms). */
  probeIntervalMs: number;
}

/**
 * Picks the mode and keeps it right: stream mode while the queue's health says Redis is up, polling mode otherwise;
 * every switch is logged and shown in /healthz. Without stream mode wanted it always polls. The first probe and
 * switch happen before `start()` resolves.
 */
export class ModeController extends TickingService {
  private current: TaskSource | undefined;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: ModeControllerDeps,
    config: ModeControllerConfig,
  ) {
    super('mode-controller', deps.logger, { intervalMs: config.probeIntervalMs });
  }

  get mode(): SchedulerMode {
    return this.current?.mode ?? (this.deps.streamMode?.health.state.ok === true ? 'redis_streams' : 'db_polling');
  }

  /** Probes Redis and switches mode if needed; calls made while one is under way run after it, never beside it. */
  runOnce(): Promise<void> {
    this.inFlight = this.inFlight.catch(() => undefined).then(() => this.probeAndSwitch());
    return this.inFlight;
  }

  private async probeAndSwitch(): Promise<void> {
    const { streamMode } = this.deps;
    const up = streamMode !== undefined && (await streamMode.health.refresh()).ok;
    if (!this.isRunning) return;
    const wanted: SchedulerMode = up ? 'redis_streams' : 'db_polling';
    if (this.current?.mode !== wanted) await this.switchTo(wanted);
  }

  protected override async onStart(): Promise<void> {
    await this.runOnce();
  }

  /** Stops the current source (and the publisher beside it) once ticking has stopped. */
  protected override async onStop(): Promise<void> {
    await this.inFlight.catch(() => undefined);
    const current = this.current;
    this.current = undefined;
    await this.stopSource(current);
  }

  private async stopSource(source: TaskSource | undefined): Promise<void> {
    if (source?.mode === 'redis_streams') await this.deps.streamMode?.stop();
    await source?.stop();
  }

  private async switchTo(mode: SchedulerMode): Promise<void> {
    const { streamMode } = this.deps;
    const previous = this.current;
    await this.stopSource(previous);
    let next = this.deps.pollingSource;
    if (mode === 'redis_streams' && streamMode !== undefined) {
      try {
        await streamMode.start();
        next = streamMode.source;
      } catch (err) {
        // The groups cannot be created (for example Redis refuses writes): poll until a write probe goes through.
        streamMode.health.markBroken(`stream mode could not start: ${err instanceof Error ? err.message : String(err)}`);
        this.deps.logger.warn({ err }, 'stream mode could not start; polling instead');
      }
    }
    if (!this.isRunning) return;
    await next.start();
    this.current = next;
    for (const m of ['redis_streams', 'db_polling'] as const) this.deps.metrics.mode.set({ mode: m }, m === next.mode ? 1 : 0);
    if (previous === undefined) return;
    this.deps.logger.warn(
      { from: previous.mode, to: next.mode, reason: streamMode?.health.state.error ?? 'redis is reachable again' },
      'scheduler mode switched',
    );
  }
}
