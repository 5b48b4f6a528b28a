import type { RedisClient } from './connection.js';
import type { Logger } from 'pino';
import { type StreamEntry, parseEntry } from './entry.js';
import type { QueueKeys } from './keys.js';
import { withScripts } from './scripts.js';

type RawEntry = [id: string, fields: string[] | null];
type RawReply = [stream: string, entries: RawEntry[]][] | null;

export interface ConsumerDeps {
  /** Connection for short commands. */
  redis: RedisClient;
  /** A connection of its own for the blocking read, which holds its connection while it waits. */
  blockingRedis: RedisClient;
  keys: QueueKeys;
  group: string;
  /** This consumer's name in the group (the worker id). */
  consumer: string;
  logger: Logger;
}

export interface EntryRef {
  stream: string;
  id: string;
}

/** Reads task entries as one consumer of the group: by priority, only as many as asked, acknowledged on request. */
export class StreamConsumer {
  constructor(private readonly deps: ConsumerDeps) {}

  get name(): string {
    return this.deps.consumer;
  }

  /** Creates the group on every stream (MKSTREAM), reading from the start so no entry published earlier is missed. */
  async ensureGroups(): Promise<void> {
    for (const key of this.deps.keys.streams()) {
      try {
        await this.deps.redis.xgroup('CREATE', key, this.deps.group, '0', 'MKSTREAM');
      } catch (err) {
        if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
      }
    }
    this.deps.logger.info({ stream: this.deps.keys.tag, group: this.deps.group }, 'consumer group ready');
  }

  /** Takes up to `max` new entries without waiting, highest priority first. */
  async read(max: number): Promise<StreamEntry[]> {
    if (max <= 0) return [];
    const reply = await this.withGroups(
      () =>
        withScripts(this.deps.redis).vigilReadByPriority(
          this.deps.keys.streams().length,
          ...this.deps.keys.streams(),
          this.deps.group,
          this.deps.consumer,
          String(max),
        ) as Promise<RawReply>,
    );
    return flatten(reply);
  }

  /**
   * Waits up to `blockMs` for new entries on any stream (XREADGROUP BLOCK), then takes up to `perStream` from each
   * stream that has some: the caller sizes it so that every stream at once still fits its room.
   */
  async readBlocking(perStream: number, blockMs: number): Promise<StreamEntry[]> {
    if (perStream <= 0) return [];
    const streams = this.deps.keys.streams();
    const reply = await this.withGroups(
      () =>
        this.deps.blockingRedis.xreadgroup(
          'GROUP',
          this.deps.group,
          this.deps.consumer,
          'COUNT',
          perStream,
          'BLOCK',
          blockMs,
          'STREAMS',
          ...streams,
          ...streams.map(() => '>'),
        ) as Promise<RawReply>,
    );
    return flatten(reply);
  }

  /** Acknowledges entries (XACK, pipelined by stream). */
  async ack(entries: readonly EntryRef[]): Promise<void> {
    if (entries.length === 0) return;
    const byStream = new Map<string, string[]>();
    for (const e of entries) byStream.set(e.stream, [...(byStream.get(e.stream) ?? []), e.id]);
    const pipeline = this.deps.redis.pipeline();
    for (const [stream, ids] of byStream) pipeline.xack(stream, this.deps.group, ...ids);
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err !== null);
    if (results === null || failed !== undefined) throw failed?.[0] ?? new Error('XACK failed');
  }

  /**
   * Claims entries other consumers left pending for at least `minIdleMs` (XAUTOCLAIM), following each stream's
   * cursor, up to `max` entries. Entries deleted from the stream while pending come back as `deleted`.
   */
  async autoclaim(minIdleMs: number, max: number): Promise<{ entries: StreamEntry[]; deleted: EntryRef[] }> {
    const entries: StreamEntry[] = [];
    const deleted: EntryRef[] = [];
    for (const stream of this.deps.keys.streams()) {
      let cursor = '0-0';
      do {
        const room = max - entries.length;
        if (room <= 0) return { entries, deleted };
        const reply = (await this.withGroups(() =>
          this.deps.redis.xautoclaim(stream, this.deps.group, this.deps.consumer, minIdleMs, cursor, 'COUNT', room),
        )) as [string, RawEntry[], string[]?];
        cursor = reply[0];
        for (const [id, fields] of reply[1]) {
          // Before Redis 7 a deleted entry came back with nil fields instead of in the third element.
          if (fields === null) deleted.push({ stream, id });
          else entries.push(parseEntry(stream, id, fields));
        }
        for (const id of reply[2] ?? []) deleted.push({ stream, id });
      } while (cursor !== '0-0');
    }
    return { entries, deleted };
  }

  private async withGroups<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      // The stream or the group was deleted under us (for example by FLUSHALL, or a Redis restart without
      // persistence): recreate and try once more.
      if (!String((err as Error).message).includes('NOGROUP')) throw err;
      await this.ensureGroups();
      return fn();
    }
  }
}

function flatten(reply: RawReply): StreamEntry[] {
  const out: StreamEntry[] = [];
  for (const [stream, entries] of reply ?? []) {
    for (const [id, fields] of entries) out.push(parseEntry(stream, id, fields));
  }
  return out;
}
