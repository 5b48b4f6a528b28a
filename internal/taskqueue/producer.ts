import type { RedisClient } from './connection.js';
import { type TaskMessage, messageFields } from './entry.js';
import type { QueueKeys } from './keys.js';

export interface PublishItem {
  taskId: number;
  priority: number;
  slot: Date;
  source: string;
}

/** Publishes task ids to the priority streams (XADD, pipelined). */
export class TaskProducer {
  constructor(private readonly deps: { redis: RedisClient; keys: QueueKeys; now?: () => Date }) {}

  /** Publishes every item or throws; on a throw some items may be published, which consumers tolerate. */
  async publish(items: readonly PublishItem[]): Promise<void> {
    if (items.length === 0) return;
    const enqueuedAt = (this.deps.now?.() ?? new Date()).toISOString();
    const pipeline = this.deps.redis.pipeline();
    for (const item of items) {
      const message: TaskMessage = { taskId: item.taskId, slot: item.slot.toISOString(), source: item.source, enqueuedAt };
      pipeline.xadd(this.deps.keys.stream(item.priority), '*', ...messageFields(message));
    }
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err !== null);
    if (results === null || failed !== undefined) {
      throw failed?.[0] ?? new Error('redis pipeline returned no results');
    }
  }
}
