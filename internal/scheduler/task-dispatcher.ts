import type { Logger } from 'pino';
import { Batcher } from '../platform/batcher.js';
import type { Metrics } from '../platform/metrics.js';
import { type RunSource, type Store, type Task, slotUnmarkQueued } from '../store/index.js';
import type { PublishItem, TaskProducer } from '../taskqueue/index.js';
import type { Scheduler } from './scheduler.js';

export type QueuedVia = 'stream' | 'direct' | 'poll';

/**
 * How the API hands a new (or run-now) task on: publish it to the stream; when that fails, or streams are off,
 * give it to this process's scheduler; with neither, leave it to the poller or publisher of other processes. The
 * row is committed and due before any of this, so no path can lose it.
 */
export class TaskDispatcher {
  /** Publishes of concurrent requests go out together, one pipeline per batch. */
  private readonly publishes: Batcher<PublishItem, void> | undefined;

  constructor(
    private readonly deps: {
      store: Store;
      producer: TaskProducer | undefined;
      scheduler: Scheduler | undefined;
      metrics: Metrics;
      logger: Logger;
    },
    private readonly config: { enableRedisQueue: boolean; queueMarkMs: number },
  ) {
    const { producer } = deps;
    this.publishes =
      producer === undefined
        ? undefined
        : new Batcher<PublishItem, void>(
            async (items: PublishItem[]) => {
              await producer.publish(items);
              return items.map(() => undefined);
            },
            { maxBatch: 200, maxInFlight: 2 },
          );
  }

  /** Set when new rows should carry a queue mark because they are about to be published. */
  get queueMarkTtlMs(): number | null {
    return this.deps.producer !== undefined && this.config.enableRedisQueue ? this.config.queueMarkMs : null;
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
