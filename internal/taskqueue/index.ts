/** Redis Streams: the only package that talks to Redis. */
export { type Redis, connectInBackground, createRedis, redisAnswers, type RedisOptions } from './redis-client.js';
export { PRIORITIES, QueueKeys, clampPriority } from './keys.js';
export { type StreamEntry, type TaskMessage, parseEntry } from './entry.js';
export { type PublishItem, TaskProducer } from './producer.js';
export { type ConsumerDeps, type EntryRef, StreamConsumer } from './consumer.js';
export { type ConsumerInfo, StreamAdmin, type StreamStats } from './stream-admin.js';
export { type SharedRateLimitVerdict, type SharedRateLimiterOptions, createSharedRateLimiter } from './rate-limiter.js';
