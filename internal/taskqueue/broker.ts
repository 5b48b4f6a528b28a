import type { RedisClient } from './connection.js';
import type { Logger } from 'pino';
import { type EntryRef, StreamConsumer } from './consumer.js';
import type { StreamEntry } from './entry.js';
import { translated } from './errors.js';
import type { QueueKeys } from './keys.js';
import { type PublishItem, TaskProducer } from './producer.js';
import { StreamAdmin, type StreamStats, type TrimOptions } from './stream-admin.js';

export interface RedisStreamBrokerDeps {
  /** Connection for short commands. */
  commands: RedisClient;
  /** A connection of its own for the blocking read, which holds its connection while it waits. */
  blocking: RedisClient;
  keys: QueueKeys;
  logger: Logger;
  /** "Now" for `enqueued_at` and the age of pending entries. */
  now: () => number;
}

export interface RedisStreamBrokerConfig {
  /** The consumer group (APP_TASK_QUEUE_GROUP). */
  group: string;
  /** This process's name in the group: its worker id. */
  consumer: string;
  /** How trimming treats other groups and streams no group reads. */
  trim?: TrimOptions;
}

/**
 * The task queue on Redis Streams: every command the scheduler and the API send to Redis, behind one object, with
 * every ioredis error translated into a QueueError. The producer, the consumer and the admin are its parts.
 */
export class RedisStreamBroker {
  private readonly producer: TaskProducer;
  private readonly consumer: StreamConsumer;
  private readonly admin: StreamAdmin;

  constructor(deps: RedisStreamBrokerDeps, config: RedisStreamBrokerConfig) {
    const { commands, blocking, keys, logger, now } = deps;
    this.producer = new TaskProducer({ redis: commands, keys, now: () => new Date(now()) });
    this.consumer = new StreamConsumer({ redis: commands, blockingRedis: blocking, keys, group: config.group, consumer: config.consumer, logger });
    this.admin = new StreamAdmin({ redis: commands, keys, group: config.group, now, ...(config.trim === undefined ? {} : { trim: config.trim }) });
  }

  /** XADD each item to its priority stream, pipelined. On a throw some items may be published. */
  publish(items: readonly PublishItem[]): Promise<void> {
    return translated(() => this.producer.publish(items));
  }

  /** Creates the consumer group on every stream (from the start, so no entry published earlier is missed). */
  ensureGroups(): Promise<void> {
    return translated(() => this.consumer.ensureGroups());
  }

  /** Takes up to `max` new entries without waiting, highest priority first. */
  read(max: number): Promise<StreamEntry[]> {
    return translated(() => this.consumer.read(max));
  }

  /** Waits up to `blockMs` for new entries, then takes up to `perStream` from each stream that has some. */
  readBlocking(perStream: number, blockMs: number): Promise<StreamEntry[]> {
    return translated(() => this.consumer.readBlocking(perStream, blockMs));
  }

  ack(entries: readonly EntryRef[]): Promise<void> {
    return translated(() => this.consumer.ack(entries));
  }

  /** Claims entries other consumers left pending for at least `minIdleMs`, up to `max`. */
  autoclaim(minIdleMs: number, max: number): Promise<{ entries: StreamEntry[]; deleted: EntryRef[] }> {
    return translated(() => this.consumer.autoclaim(minIdleMs, max));
  }

  /** Whether Redis takes a write on the queue's hash tag now. Never throws. */
  probeWrite(): Promise<boolean> {
    return this.admin.probeWrite();
  }

  stats(): Promise<StreamStats[]> {
    return translated(() => this.admin.stats());
  }

  /** Trims every stream without removing an entry that is pending or unread. Returns how many were removed. */
  trim(): Promise<number> {
    return translated(() => this.admin.trim());
  }

  /** Deletes consumers idle for `minIdleMs` with nothing pending. Returns their names. */
  removeIdleConsumers(minIdleMs: number): Promise<string[]> {
    return translated(() => this.admin.removeIdleConsumers(minIdleMs));
  }
}
