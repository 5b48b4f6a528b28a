import { afterAll, beforeAll } from 'vitest';
import { silentLogger } from '../platform/logger.js';
import { Metrics } from '../platform/metrics.js';
import { type Store, type TaskInsertParams, StoreMigrator, openStore, taskInsert } from '../store/index.js';
import {
  type EntryRef,
  type PublishItem,
  QueueError,
  QueueKeys,
  type RedisState,
  type StreamEntry,
  parseEntry,
} from '../taskqueue/index.js';
import type { QueueBroker, QueueHealth } from './queue-broker.js';

/**
 * Test doubles for the scheduler's unit tests: an in-memory store, an in-memory broker whose Redis can be made to
 * fail, and a settable queue health. Test-only: nothing in production imports this file. The integration tests in
 * `test/` run the same services against real MariaDB and Redis.
 */

/** A migrated SQLite store in memory, private to one test file. */
export async function memoryStore(): Promise<Store> {
  const store = openStore({ sqlitePath: ':memory:' });
  await new StoreMigrator(store).up();
  return store;
}

/** A {@link memoryStore} for the tests of the enclosing `describe`: opened before them, closed after them. */
export function useMemoryStore(): { readonly store: Store } {
  let store: Store | undefined;
  beforeAll(async () => {
    store = await memoryStore();
  });
  afterAll(async () => {
    await store?.close();
  });
  return {
    get store(): Store {
      if (store === undefined) throw new Error('the memory store is opened in beforeAll');
      return store;
    },
  };
}

/** Inserts a task with sensible defaults; `at` is its first slot. */
export function insertTask(store: Store, at: Date, overrides: Partial<TaskInsertParams> = {}) {
  return taskInsert(store, {
    name: 'unit',
    type: 'noop',
    payload: {},
    schedule: { every: 60 },
    priority: 3,
    timeoutMs: 1000,
    maxAttempts: 3,
    status: 'running',
    notify: null,
    nextRunAt: at,
    queuedUntil: null,
    idempotencyKey: null,
    requestHash: null,
    now: at,
    ...overrides,
  });
}

export const quiet = { logger: silentLogger(), metrics: new Metrics({ defaultMetrics: false }) };

interface FakeEntry {
  stream: string;
  id: string;
  fields: string[];
  /** Set while delivered and not acknowledged. */
  pendingSince?: number;
}

/**
 * The queue in memory: one consumer group, priority streams, pending entries, XAUTOCLAIM by idle time. Set
 * `failing` to make every command throw the QueueError a Redis outage would.
 */
export class FakeBroker implements QueueBroker {
  readonly keys = new QueueKeys('fake');
  /** Every entry still in a stream, in id order per stream. */
  readonly entries: FakeEntry[] = [];
  failing: QueueError | undefined;
  private seq = 0;
  private readonly acked = new Set<string>();

  constructor(private readonly now: () => number) {}

  /** Adds an entry by hand (as `redis-cli XADD` would), with any fields. */
  add(priority: number, fields: Record<string, string>): string {
    this.seq += 1;
    const id = `${this.now()}-${this.seq}`;
    this.entries.push({ stream: this.keys.stream(priority), id, fields: Object.entries(fields).flat() });
    return id;
  }

  pending(): FakeEntry[] {
    return this.entries.filter((e) => e.pendingSince !== undefined);
  }

  unread(): FakeEntry[] {
    return this.entries.filter((e) => e.pendingSince === undefined && !this.acked.has(e.id));
  }

  async publish(items: readonly PublishItem[]): Promise<void> {
    this.check();
    for (const item of items) {
      this.add(item.priority, {
        task_id: String(item.taskId),
        slot: item.slot.toISOString(),
        source: item.source,
        enqueued_at: new Date(this.now()).toISOString(),
      });
    }
  }

  async ensureGroups(): Promise<void> {
    this.check();
  }

  async read(max: number): Promise<StreamEntry[]> {
    this.check();
    const out: StreamEntry[] = [];
    for (const stream of this.keys.streams()) {
      for (const entry of this.unread().filter((e) => e.stream === stream)) {
        if (out.length >= max) return out;
        entry.pendingSince = this.now();
        out.push(parseEntry(entry.stream, entry.id, entry.fields));
      }
    }
    return out;
  }

  /** Like XREADGROUP BLOCK: waits (really, `blockMs`) when nothing is there. */
  async readBlocking(perStream: number, blockMs: number): Promise<StreamEntry[]> {
    const entries = await this.read(perStream);
    if (entries.length === 0) await new Promise((resolve) => setTimeout(resolve, blockMs));
    return entries;
  }

  async ack(refs: readonly EntryRef[]): Promise<void> {
    this.check();
    for (const ref of refs) {
      const entry = this.entries.find((e) => e.id === ref.id);
      if (entry !== undefined) delete entry.pendingSince;
      this.acked.add(ref.id);
    }
  }

  async autoclaim(minIdleMs: number, max: number): Promise<{ entries: StreamEntry[]; deleted: EntryRef[] }> {
    this.check();
    const stalled = this.pending().filter((e) => this.now() - (e.pendingSince ?? 0) >= minIdleMs).slice(0, max);
    for (const e of stalled) e.pendingSince = this.now();
    return { entries: stalled.map((e) => parseEntry(e.stream, e.id, e.fields)), deleted: [] };
  }

  async probeWrite(): Promise<boolean> {
    return this.failing === undefined;
  }

  async stats(): Promise<never[]> {
    this.check();
    return [];
  }

  async trim(): Promise<number> {
    this.check();
    return 0;
  }

  async removeIdleConsumers(): Promise<string[]> {
    this.check();
    return [];
  }

  /** Entries acknowledged so far. */
  ackedIds(): string[] {
    return [...this.acked];
  }

  private check(): void {
    if (this.failing !== undefined) throw this.failing;
  }
}

/** A queue health whose answer the test sets; it records what components reported. */
export class FakeHealth implements QueueHealth {
  up = true;
  broken: string | undefined;
  readonly reports: string[] = [];

  get state(): RedisState {
    const error = !this.up ? 'redis unreachable (fake)' : this.broken;
    const where = { addr: 'fake:6379', topology: 'standalone', node: 'fake:6379' } as const;
    return error === undefined ? { ok: true, ...where } : { ok: false, ...where, error };
  }

  async refresh(): Promise<RedisState> {
    return this.state;
  }

  reportSuccess(component: string): void {
    this.reports.push(`${component}:ok`);
  }

  reportFailure(component: string): void {
    this.reports.push(`${component}:failed`);
  }

  markBroken(reason: string): void {
    this.broken = reason;
  }
}

/** The QueueError a Redis outage raises. */
export function redisDown(): QueueError {
  return new QueueError('unavailable', 'redis unavailable: connection is closed');
}
