import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Batcher } from '../platform/batcher.js';
import type { Clock } from '../platform/clock.js';
import { delay } from '../platform/lifecycle.js';
import type { Metrics } from '../platform/metrics.js';
import {
  type ClaimedSlot,
  type RunSource,
  type Store,
  deadLetterInsert,
  isStoreError,
  leaseRelease,
  slotClaimByIds,
  slotUnmarkQueued,
} from '../store/index.js';
import { type EntryRef, PRIORITIES, type StreamConsumer, type StreamEntry } from '../taskqueue/index.js';
import type { ClaimConfig, TaskSource } from './task-source.js';
import type { WorkerPool } from './worker-pool.js';

/** Told how stream commands go: a run of failures while Redis still answers PING means it refuses them. */
export interface StreamHealth {
  ok(): void;
  failed(err: unknown): void;
}

export interface StreamSourceDeps {
  store: Store;
  pool: WorkerPool;
  consumer: StreamConsumer;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  streamHealth?: StreamHealth;
}

export interface StreamSourceConfig extends ClaimConfig {
  /** How long an entry stays pending with a silent consumer before another one claims it (ms). */
  pendingIdleMs: number;
  /** How long one blocking read waits for new entries (ms). */
  blockMs: number;
}

const CHANNELS = new Set<RunSource>(['api', 'periodic', 'retry', 'recovery', 'manual', 'direct']);

/**
 * Stream mode: reads entries as a consumer of the group, only as many as the pool has room for, claims their
 * slots in the database, and acknowledges each entry once its outcome is recorded. Entries that cannot be
 * processed become dead letters; stalled entries of dead consumers are reclaimed with XAUTOCLAIM.
 */
export class StreamSource implements TaskSource {
  readonly mode = 'redis_streams' as const;
  private loop: Promise<void> | undefined;
  private controller = new AbortController();
  private lastAutoclaim = 0;
  /** Entries whose runs are recorded, acknowledged together: one XACK per stream per batch. */
  private readonly acks = new Batcher<EntryRef, void>(
    async (refs) => {
      await this.deps.consumer.ack(refs);
      return refs.map(() => undefined);
    },
    { maxBatch: 500, maxInFlight: 1 },
  );

  constructor(
    private readonly deps: StreamSourceDeps,
    private readonly config: StreamSourceConfig,
  ) {}

  start(): void {
    if (this.loop !== undefined) return;
    this.controller = new AbortController();
    this.loop = this.run(this.controller.signal);
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.loop;
    this.loop = undefined;
  }

  /** Reads (without blocking) and processes one batch. Returns how many entries were read. */
  async runOnce(options: { block?: boolean } = {}): Promise<number> {
    const room = Math.min(this.deps.pool.room(), this.config.batchSize);
    if (room <= 0) return 0;
    let entries = await this.deps.consumer.read(room);
    if (entries.length === 0 && options.block === true) {
      // A blocking read takes up to COUNT from each priority stream, so COUNT is the room shared among them. With
      // less room than streams, wait on a timer and read by priority again instead of risking an over-read.
      const perStream = Math.floor(room / PRIORITIES.length);
      if (perStream >= 1) entries = await this.deps.consumer.readBlocking(perStream, this.config.blockMs);
      else await delay(Math.min(this.config.blockMs, 100), this.controller.signal);
    }
    await this.process(entries);
    return entries.length;
  }

  /** Claims entries other consumers left pending past the idle time. Returns how many were reclaimed. */
  async reclaimStalled(): Promise<number> {
    const room = Math.min(this.deps.pool.room(), this.config.batchSize);
    if (room <= 0) return 0;
    const { entries, deleted } = await this.deps.consumer.autoclaim(this.config.pendingIdleMs, room);
    const now = new Date(this.deps.clock.now());
    for (const ref of deleted) {
      await deadLetterInsert(this.deps.store, {
        taskId: null,
        slot: null,
        reason: 'deleted_while_pending',
        error: 'the entry was deleted from the stream while it was pending',
        fields: { stream: ref.stream, id: ref.id },
        now,
      });
    }
    await this.deps.consumer.ack(deleted);
    if (entries.length > 0) {
      this.deps.metrics.autoclaim.inc(entries.length);
      this.deps.logger.info({ count: entries.length }, 'reclaimed stalled entries');
    }
    await this.process(entries);
    return entries.length + deleted.length;
  }

  private async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      await this.deps.pool.whenRoom();
      if (signal.aborted) break;
      if (this.deps.pool.room() === 0) {
        // The pool is closing (whenRoom resolves at once then): wait on a timer, never spin on resolved promises.
        await delay(this.config.blockMs, signal);
        continue;
      }
      try {
        if (this.deps.clock.now() - this.lastAutoclaim >= Math.max(100, this.config.pendingIdleMs / 2)) {
          this.lastAutoclaim = this.deps.clock.now();
          await this.reclaimStalled();
        }
        await this.runOnce({ block: true });
        failures = 0;
        this.deps.streamHealth?.ok();
      } catch (err) {
        if (signal.aborted) break;
        if (!isStoreError(err)) this.deps.streamHealth?.failed(err);
        failures += 1;
        if (failures === 1 || failures % 30 === 0) this.deps.logger.warn({ err }, 'stream read failed; retrying');
        await delay(Math.min(200 * failures, 2000), signal);
      }
    }
  }

  /**
   * Turns entries into jobs. Nothing is acknowledged unless what it leads to is recorded first: a dead letter, a
   * run outcome, or the knowledge that the slot is not ours to run (a duplicate).
   */
  private async process(entries: StreamEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const now = new Date(this.deps.clock.now());
    const toAck: EntryRef[] = [];
    const byTask = new Map<number, Extract<StreamEntry, { kind: 'message' }>[]>();
    for (const entry of entries) {
      if (entry.kind === 'malformed') {
        await deadLetterInsert(this.deps.store, {
          taskId: null,
          slot: null,
          reason: 'malformed',
          error: entry.error,
          fields: { ...entry.fields, _stream: entry.stream, _id: entry.id },
          now,
        });
        toAck.push(entry);
        continue;
      }
      byTask.set(entry.message.taskId, [...(byTask.get(entry.message.taskId) ?? []), entry]);
    }

    if (byTask.size > 0) {
      const result = await slotClaimByIds(this.deps.store, {
        ids: [...byTask.keys()],
        owner: this.config.owner,
        leaseToken: randomUUID(),
        leaseMs: this.config.leaseMs,
        now,
        typePatterns: this.config.typePatterns,
        channelOf: (id) => {
          const source = byTask.get(id)?.[0]?.message.source as RunSource | undefined;
          return source !== undefined && CHANNELS.has(source) ? source : 'periodic';
        },
      });
      // Claims first: they are committed, so nothing may stand between them and the pool.
      const rejected: ClaimedSlot[] = [];
      for (const claim of result.claimed) {
        const [first, ...duplicates] = byTask.get(claim.task.id) ?? [];
        byTask.delete(claim.task.id);
        toAck.push(...duplicates);
        if (first === undefined) continue;
        const accepted = this.deps.pool.offer({
          claim,
          onRecorded: () => this.acks.submit(first),
        });
        if (!accepted) rejected.push(claim);
      }
      for (const id of result.missing) {
        const entry = byTask.get(id)?.[0];
        await deadLetterInsert(this.deps.store, {
          taskId: id,
          slot: entry?.message.slot ? new Date(entry.message.slot) : null,
          reason: 'unknown_task',
          error: `task ${id} does not exist`,
          fields: { ...entry?.fields },
          now,
        });
      }
      if (result.notAllowed.length > 0) await slotUnmarkQueued(this.deps.store, result.notAllowed);
      // The pool filled between the read and the claim (it never should: reads are sized to its room).
      if (rejected.length > 0) await leaseRelease(this.deps.store, { claims: rejected });
      for (const rest of byTask.values()) toAck.push(...rest);
    }
    await this.deps.consumer.ack(toAck);
  }
}
