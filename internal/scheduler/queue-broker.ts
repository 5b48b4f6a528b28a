import type { HostPermitBackend } from './host-gate.js';
import type { EntryRef, PublishItem, RedisState, StreamEntry, StreamStats } from '../taskqueue/index.js';

/**
 * What the scheduler needs of a task queue (after asynq's `Broker`): declared here, by its user, and implemented by
 * `internal/taskqueue`'s RedisStreamBroker. Every method throws only `QueueError`. Tests use an in-memory fake.
 */
export interface QueueBroker {
  /** Publishes each item to its priority stream. On a throw some items may be published; consumers tolerate that. */
  publish(items: readonly PublishItem[]): Promise<void>;
  /** Creates the consumer group on every stream, reading from the start. */
  ensureGroups(): Promise<void>;
  /** Takes up to `max` new entries without waiting, highest priority first. */
  read(max: number): Promise<StreamEntry[]>;
  /** Waits up to `blockMs` for new entries, then takes up to `perStream` from each stream that has some. */
  readBlocking(perStream: number, blockMs: number): Promise<StreamEntry[]>;
  ack(entries: readonly EntryRef[]): Promise<void>;
  /** Claims entries other consumers left pending for `minIdleMs`; entries deleted while pending come as `deleted`. */
  autoclaim(minIdleMs: number, max: number): Promise<{ entries: StreamEntry[]; deleted: EntryRef[] }>;
  /** Whether the queue takes a write now. Never throws. */
  probeWrite(): Promise<boolean>;
  stats(): Promise<StreamStats[]>;
  /** Trims the streams without removing an entry that is pending or unread. Returns how many were removed. */
  trim(): Promise<number>;
  /** Removes consumers idle for `minIdleMs` with nothing pending. Returns their names. */
  removeIdleConsumers(minIdleMs: number): Promise<string[]>;
}

/** "Is the queue up?", one answer for the whole process; implemented by `internal/taskqueue`'s RedisHealth. */
export interface QueueHealth {
  /** The state found by the last refresh. */
  readonly state: RedisState;
  /** Pings (and, after stream commands failed, probes a write) and returns the new state. */
  refresh(): Promise<RedisState>;
  /** A stream command of `component` (the reader, the publisher) worked. */
  reportSuccess(component: string): void;
  /** A stream command of `component` failed; a few in a row make the queue count as down until a write works. */
  reportFailure(component: string, err: unknown): void;
  /** The queue refused something it cannot work without; down until a write probe goes through. */
  markBroken(reason: string): void;
}

/** The queue a scheduler uses in stream mode: its commands and its health. */
export interface StreamQueue {
  broker: QueueBroker;
  health: QueueHealth;
  /** Politeness per host counted in Redis (stream mode); without it the store counts. */
  hostPermits?: HostPermitBackend;
}
