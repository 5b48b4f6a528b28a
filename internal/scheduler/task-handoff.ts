import type { Logger } from 'pino';
import { Batcher } from '../platform/batcher.js';
import type { Metrics } from '../platform/metrics.js';
import { type RunSource, type Store, type Task, slotUnmarkQueued } from '../store/index.js';
import type { PublishItem } from '../taskqueue/index.js';
import type { QueueBroker } from './queue-broker.js';

export type QueuedVia = 'stream' | 'direct' | 'poll';

/** A scheduler in this process that can take a task at once (see `Scheduler.enqueueDirect`). */
export interface DirectScheduling {
  enqueueDirect(taskId: number, source: RunSource): Promise<boolean>;
}

export interface TaskHandoffDeps {
  store: Store;
  /** The stream queue's broker, when Redis is configured. */
  broker: QueueBroker | undefined;
  /** This process's scheduler, when it runs one. */
  scheduler: DirectScheduling | undefined;
  metrics: Metrics;
  logger: Logger;
}

export interface TaskHandoffConfig {
  /** APP_ENABLE_REDIS_QUEUE. */
  enableRedisQueue: boolean;
  /** How long a published task counts as queued (ms): new rows carry this mark so the publisher skips them. */
  queueMarkMs: number;
}

/**
 * How the API hands a new (or run-now) task on: publish it to the stream; when that fails, or streams are off,
 * give it to this process's scheduler; with neither, leave it to the poller or publisher of other processes. The
 * row is committed and due before any of this, so no path can lose it. It implements the API's `TaskDispatcher`
 * port.
 */
export class TaskHandoff {
  /** Publishes of concurrent requests go out together, one pipeline per batch. */
  private readonly publishes: Batcher<PublishItem, void> | undefined;

  constructor(
    private readonly deps: TaskHandoffDeps,
    private readonly config: TaskHandoffConfig,
  ) {
    const { broker } = deps;
    this.publishes =
      broker === undefined
        ? undefined
        : new Batcher<PublishItem, void>(
            async (items: PublishItem[]) => {
              await broker.publish(items);
              return items.map(() => undefined);
            },
            { maxBatch: 200, maxInFlight: 2 },
          );
  }

  /** Set when new rows should carry a queue mark because they are about to be published. */
  get queueMarkTtlMs(): number | null {
    return this.deps.broker !== undefined && this.config.enableRedisQueue ? this.config.queueMarkMs : null;
  }

  dispatchNew(task: Task): Promise<QueuedVia> {
    return this.dispatch(task, 'api');
  }

  dispatchRunNow(task: Task): Promise<QueuedVia> {
    return this.dispatch(task, 'manual');
  }

  private async dispatch(task: Task, source: RunSource): Promise<QueuedVia> {
    if (this.queueMarkTtlMs !== null && this.publishes !== undefined) {
      try {
        await this.publishes.submit({ taskId: task.id, priority: task.priority, slot: task.nextRunAt, source });
        return 'stream';
      } catch (err) {
        this.deps.metrics.publishFallback.inc();
        this.deps.logger.warn({ err, taskId: task.id }, 'publish failed; falling back to direct scheduling');
        await slotUnmarkQueued(this.deps.store, [task.id]).catch(() => undefined);
      }
    }
    if (this.deps.scheduler !== undefined) {
      try {
        if (await this.deps.scheduler.enqueueDirect(task.id, source === 'api' ? 'direct' : source)) return 'direct';
      } catch (err) {
        this.deps.logger.warn({ err, taskId: task.id }, 'direct scheduling failed; the poller will pick it up');
      }
    }
    return 'poll';
  }
}
