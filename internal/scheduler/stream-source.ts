import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Batcher } from '../platform/batcher.js';
import type { Clock } from '../platform/clock.js';
import { delay } from '../platform/lifecycle.js';
import type { Metrics } from '../platform/metrics.js';
import { LoopService } from '../platform/service.js';
import { type RunSource, type Store, deadLetterInsert, isStoreError, slotClaimByIds, slotUnmarkQueued } from '../store/index.js';
import { type EntryRef, PRIORITIES, type StreamEntry, entryKeyOf, isQueueError } from '../taskqueue/index.js';
import type { QueueBroker, QueueHealth } from './queue-broker.js';
import type { ClaimConfig, TaskSource } from './task-source.js';
import type { WorkerPool } from './worker-pool.js';

export interface StreamSourceDeps {
  store: Store;
  pool: WorkerPool;
  broker: QueueBroker;
  /** Told how stream commands go: a run of failures while Redis still answers PING means it refuses them. */
  health: QueueHealth;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
}

export interface StreamSourceConfig extends ClaimConfig {
  /** How long an entry stays pending with a silent consumer before another one claims it (APP_PENDING_IDLE, ms). */
  pendingIdleMs: number;
  /** How long one blocking read waits for new entries (ms). */
  blockMs: number;
}

/** Backoff of the read loop while Redis or the store fails: 200 ms, doubling, up to 2 s. */
export const STREAM_SOURCE_BACKOFF = { baseMs: 200, maxMs: 2000, jitter: 'none' } as const;

const CHANNELS = new Set<RunSource>(['api', 'periodic', 'retry', 'recovery', 'manual', 'direct']);

/**
 * Stream mode: reads entries as a consumer of the group, only as many as the pool has room for, claims their
 * slots in the database, and acknowledges each entry once its outcome is recorded. Entries that cannot be
 * processed become dead letters; stalled entries of dead consumers are reclaimed with XAUTOCLAIM.
 */
export class StreamSource extends LoopService implements TaskSource {
  readonly mode = 'redis_streams' as const;
  private lastAutoclaim = Number.NEGATIVE_INFINITY;
  /** Entries whose runs are recorded, acknowledged together: one XACK per stream per batch. */
  private readonly acks = new Batcher<EntryRef, void>(
    async (refs) => {
      await this.deps.broker.ack(refs);
      return refs.map(() => undefined);
    },
    { maxBatch: 500, maxInFlight: 1 },
  );

  constructor(
    private readonly deps: StreamSourceDeps,
    private readonly config: StreamSourceConfig,
  ) {
    super('stream-source', deps.logger, STREAM_SOURCE_BACKOFF);
  }

  /**
   * Reads and processes one batch. Returns how many entries were read. With `block`, waits up to `blockMs` for
   * entries when none is there (`signal` ends the wait early).
   */
  async runOnce(options: { block?: boolean; signal?: AbortSignal } = {}): Promise<number> {
    const room = Math.min(this.deps.pool.room(), this.config.batchSize);
    if (room <= 0) return 0;
    let entries = await this.deps.broker.read(room);
    if (entries.length === 0 && options.block === true) {
      // A blocking read takes up to COUNT from each priority stream, so COUNT is the room shared among them. With
      // less room than streams, wait on a timer and read by priority again instead of risking an over-read.
      const perStream = Math.floor(room / PRIORITIES.length);
      if (perStream >= 1) entries = await this.deps.broker.readBlocking(perStream, this.config.blockMs);
      else await delay(Math.min(this.config.blockMs, 100), options.signal);
    }
    const failures: unknown[] = [];
    await this.process(entries, failures);
    if (failures.length > 0) throw failures[0];
    return entries.length;
  }

  /** Claims entries other consumers left pending past the idle time. Returns how many were reclaimed. */
  async reclaimStalled(): Promise<number> {
    const room = Math.min(this.deps.pool.room(), this.config.batchSize);
    if (room <= 0) return 0;
    const { entries, deleted } = await this.deps.broker.autoclaim(this.config.pendingIdleMs, room);
    const now = new Date(this.deps.clock.now());
    const failures: unknown[] = [];
    for (const ref of deleted) {
      await this.settle(ref, failures, () =>
        deadLetterInsert(this.deps.store, {
          taskId: null,
          slot: null,
          reason: 'deleted_while_pending',
          error: 'the entry was deleted from the stream while it was pending',
          fields: { stream: ref.stream, id: ref.id },
          entryKey: entryKeyOf(ref),
          now,
        }),
      );
    }
    if (entries.length > 0) {
      this.deps.metrics.autoclaim.inc(entries.length);
      this.deps.logger.info({ count: entries.length }, 'reclaimed stalled entries');
    }
    await this.process(entries, failures);
    if (failures.length > 0) throw failures[0];
    return entries.length + deleted.length;
  }

  protected async step(signal: AbortSignal): Promise<number> {
    await this.deps.pool.whenRoom();
    // A closing pool resolves whenRoom at once with no room: wait on a timer, never spin on resolved promises.
    if (this.deps.pool.room() === 0) return this.config.blockMs;
    const now = this.deps.clock.now();
    if (now - this.lastAutoclaim >= Math.max(100, this.config.pendingIdleMs / 2)) {
      this.lastAutoclaim = now;
      await this.reclaimStalled();
    }
    await this.runOnce({ block: true, signal });
    this.deps.health.reportSuccess('reader');
    return 0;
  }

  protected override onStepFailed(err: unknown, failures: number): void {
    if (isQueueError(err)) this.deps.health.reportFailure('reader', err);
    super.onStepFailed(err, failures);
  }

  /**
   * Turns entries into jobs. Each entry is settled and acknowledged on its own: nothing is acknowledged unless what
   * it leads to is recorded first (a dead letter, a run outcome, or the knowledge that the slot is not ours to run),
   * and one entry that cannot be settled stays pending alone, never holding up the others of its batch. Failures
   * are gathered in `failures`; the caller throws the first once every other entry is settled.
   */
  private async process(entries: StreamEntry[], failures: unknown[]): Promise<void> {
    if (entries.length === 0) return;
    const now = new Date(this.deps.clock.now());
    const byTask = new Map<number, Extract<StreamEntry, { kind: 'message' }>[]>();
    for (const entry of entries) {
      if (entry.kind === 'malformed') {
        await this.settle(entry, failures, () =>
          deadLetterInsert(this.deps.store, {
            taskId: null,
            slot: null,
            reason: 'malformed',
            error: entry.error,
            fields: { ...entry.fields, _stream: entry.stream, _id: entry.id },
            entryKey: entryKeyOf(entry),
            now,
          }),
        );
        continue;
      }
      byTask.set(entry.message.taskId, [...(byTask.get(entry.message.taskId) ?? []), entry]);
    }
    if (byTask.size === 0) return;

    let result: Awaited<ReturnType<typeof slotClaimByIds>>;
    try {
      result = await slotClaimByIds(this.deps.store, {
        ids: [...byTask.keys()],
        workerId: this.config.workerId,
        leaseToken: randomUUID(),
        leaseMs: this.config.leaseMs,
        now,
        typePatterns: this.config.typePatterns,
        channelOf: (id) => {
          const source = byTask.get(id)?.[0]?.message.source as RunSource | undefined;
          return source !== undefined && CHANNELS.has(source) ? source : 'periodic';
        },
      });
    } catch (err) {
      // Nothing was claimed: these entries stay pending and are read again after the idle time.
      failures.push(err);
      return;
    }
    // Claims first: they are committed, so nothing may stand between them and the pool. A claim the pool
    // refuses (it filled between the read and the claim; reads are sized to its room, so it never should) is
    // given back, and its entry stays pending until it is reclaimed: the row is due again either way.
    const duplicates: EntryRef[] = [];
    const jobs = result.claimed.flatMap((claim) => {
      const [first, ...others] = byTask.get(claim.task.id) ?? [];
      byTask.delete(claim.task.id);
      duplicates.push(...others);
      return first === undefined ? [] : [{ claim, onRecorded: () => this.acks.submit(first) }];
    });
    await this.deps.pool.offerAll(jobs);
    await this.ackAll(duplicates, failures);
    for (const id of result.missing) {
      for (const entry of byTask.get(id) ?? []) {
        await this.settle(entry, failures, () => this.unknownTask(entry, now));
      }
      byTask.delete(id);
    }
    if (result.notAllowed.length > 0) {
      const notAllowed = result.notAllowed.flatMap((id) => byTask.get(id) ?? []);
      for (const id of result.notAllowed) byTask.delete(id);
      // One statement for all; if it fails they stay pending together (the rows are due again either way).
      try {
        await slotUnmarkQueued(this.deps.store, result.notAllowed);
        await this.ackAll(notAllowed, failures);
      } catch (err) {
        failures.push(err);
      }
    }
    // The rest were not due or already leased: duplicates, which the row, not the entry, makes harmless.
    await this.ackAll([...byTask.values()].flat(), failures);
  }

  /** Acknowledges entries that need nothing recorded, together (one XACK per stream), each settled on its own. */
  private async ackAll(entries: readonly EntryRef[], failures: unknown[]): Promise<void> {
    await Promise.all(entries.map((entry) => this.settle(entry, failures, async () => undefined)));
  }

  /** The `unknown_task` dead letter of an entry whose task does not exist. */
  private async unknownTask(entry: Extract<StreamEntry, { kind: 'message' }>, now: Date): Promise<void> {
    const write = (slot: Date | null) =>
      deadLetterInsert(this.deps.store, {
        taskId: entry.message.taskId,
        slot,
        reason: 'unknown_task',
        error: `task ${entry.message.taskId} does not exist`,
        fields: { ...entry.fields },
        entryKey: entryKeyOf(entry),
        now,
      });
    const slot = entry.message.slot === '' ? null : new Date(entry.message.slot);
    try {
      await write(slot);
    } catch (err) {
      // Parsing already refuses slots the store cannot hold; should the database still refuse this one, the
      // letter is kept without it (the entry's fields keep the text) rather than left to fail at every delivery.
      if (!isStoreError(err, 'invalid') || slot === null) throw err;
      await write(null);
    }
  }

  /**
   * Records what an entry leads to with `record`, then acknowledges it. A failure leaves that entry pending (it is
   * reclaimed after the idle time) and is added to `failures`; it never stops the entries after it.
   */
  private async settle(entry: EntryRef, failures: unknown[], record: () => Promise<unknown>): Promise<void> {
    try {
      await record();
      await this.acks.submit({ stream: entry.stream, id: entry.id });
    } catch (err) {
      failures.push(err);
      this.deps.logger.warn({ err, stream: entry.stream, id: entry.id }, 'could not settle a stream entry; it stays pending');
    }
  }
}
