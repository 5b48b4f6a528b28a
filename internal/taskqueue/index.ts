/** Redis Streams: the only package that talks to Redis (ioredis never leaves it, not even as a type). */
export { RedisQueue, type RedisQueueOptions } from './redis-queue.js';

export type { RedisState } from './redis-health.js';
export { QueueError, type QueueErrorCode, isQueueError } from './errors.js';
export { PRIORITIES, QueueKeys } from './keys.js';
export { type StreamEntry, type TaskMessage, SLOT_MAX_MS, SLOT_MIN_MS, entryKeyOf, parseEntry, slotProblem } from './entry.js';
export { type PublishItem, TaskProducer } from './producer.js';
export { type EntryRef, StreamConsumer } from './consumer.js';
export {
  type ConsumerInfo,
  type ForeignGroupStats,
  StreamAdmin,
  type StreamStats,
  TRIM_FOREIGN_IDLE_MS,
  TRIM_KEEP_FOR_OTHERS,
  type TrimOptions,
} from './stream-admin.js';
export { RedisHostPermits, type RedisHostLimits, type RedisHostPermitVerdict } from './host-permits.js';
