import { Redis } from 'ioredis';
import type { App } from '../../internal/app/index.js';
import type { Store, TaskRunRow } from '../../internal/store/index.js';
import { QueueKeys } from '../../internal/taskqueue/index.js';
import { type Dialect, REDIS_ADDR, type TestStore, createTestStore, uniqueName } from './services.js';
import { type TestAppOptions, startTestApp } from './test-app.js';

/**
 * Shared set-up for the scheduler integration tests (test/sched-*.test.ts): one store and one stream name per
 * fixture, apps started against them in either mode, and the queries the tests read results with. Everything a
 * fixture creates (apps, Redis keys, the database) is removed by `cleanup()`.
 */

/** Stream mode (Redis Streams) or polling mode (Redis configured, APP_ENABLE_REDIS_QUEUE=false). */
export type SchedMode = 'stream' | 'polling';
export const SCHED_MODES: readonly SchedMode[] = ['stream', 'polling'];

export const DEFAULT_GROUP = 'scheduler_group';

export interface RunningApp {
  app: App;
  url: string;
}

export interface SchedFixture {
  ts: TestStore;
  store: Store;
  stream: string;
  /** A Redis client of the test's own, for XADD / XRANGE / XPENDING against the fixture's streams. */
  redis: Redis;
  /** Starts an app on the fixture's store and stream, in the given mode. */
  startApp(mode: SchedMode, options?: Omit<TestAppOptions, 'storeEnv' | 'stream'>): Promise<RunningApp>;
  /** Stops every app the fixture started (idempotent). */
  stopApps(): Promise<void>;
  cleanup(): Promise<void>;
}

export function redisClient(addr = REDIS_ADDR): Redis {
  const [host, port] = addr.split(':');
  return new Redis({ host: host ?? '127.0.0.1', port: Number(port ?? 6379), lazyConnect: false, maxRetriesPerRequest: 1 });
}

/** The five priority streams of a stream name, highest priority first. */
export function streamKeys(stream: string): string[] {
  return new QueueKeys(stream).streams();
}

export async function createSchedFixture(label: string, dialect: Dialect = 'mysql'): Promise<SchedFixture> {
  const ts = await createTestStore(dialect, label);
  const stream = uniqueName(`vigil_${label}`);
  const redis = redisClient();
  const apps: RunningApp[] = [];
  const stopApps = async () => {
    const all = apps.splice(0);
    await Promise.all(all.map((a) => a.app.stop()));
  };
  return {
    ts,
    store: ts.store,
    stream,
    redis,
    stopApps,
    async startApp(mode, options = {}) {
      const running = await startTestApp({
        ...options,
        storeEnv: ts.env,
        stream,
        env: { ...(mode === 'polling' ? { APP_ENABLE_REDIS_QUEUE: 'false' } : {}), ...options.env },
      });
      apps.push(running);
      return running;
    },
    async cleanup() {
      await stopApps();
      await redis.del(...streamKeys(stream));
      redis.disconnect();
      await ts.cleanup();
    },
  };
}

export interface CreatedTask {
  id: number;
  queued_via: 'stream' | 'direct' | 'poll';
  [key: string]: unknown;
}

/** `POST /tasks`; fails the test unless the answer is 201. */
export async function postTask(url: string, body: Record<string, unknown>): Promise<CreatedTask> {
  const res = await fetch(`${url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as CreatedTask;
  if (res.status !== 201) throw new Error(`POST /tasks answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
}

export async function getJson<T = Record<string, unknown>>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

/** Every run of a task, in attempt order (then start order). */
export function runsOfTask(store: Store, taskId: number): Promise<TaskRunRow[]> {
  return store.db
    .selectFrom('task_runs')
    .selectAll()
    .where('task_id', '=', taskId)
    .orderBy('started_at', 'asc')
    .orderBy('attempt', 'asc')
    .execute();
}

export function allRuns(store: Store): Promise<TaskRunRow[]> {
  return store.db.selectFrom('task_runs').selectAll().orderBy('started_at', 'asc').orderBy('id', 'asc').execute();
}

export async function countRuns(store: Store, where: { status?: string; taskIds?: number[] } = {}): Promise<number> {
  let query = store.db.selectFrom('task_runs').select((eb) => eb.fn.countAll<number>().as('n'));
  if (where.status !== undefined) query = query.where('status', '=', where.status as TaskRunRow['status']);
  if (where.taskIds !== undefined) query = query.where('task_id', 'in', where.taskIds);
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Entries delivered to the group and not acknowledged, across the five streams. */
export async function pendingCount(redis: Redis, stream: string, group = DEFAULT_GROUP): Promise<number> {
  let total = 0;
  for (const key of streamKeys(stream)) {
    try {
      const summary = (await redis.xpending(key, group)) as [number | string, ...unknown[]];
      total += Number(summary[0]);
    } catch (err) {
      if (!String((err as Error).message).includes('NOGROUP')) throw err;
    }
  }
  return total;
}

/** Entries not yet delivered to the group (XINFO GROUPS lag), across the five streams. */
export async function lagCount(redis: Redis, stream: string, group = DEFAULT_GROUP): Promise<number> {
  let total = 0;
  for (const key of streamKeys(stream)) {
    if ((await redis.exists(key)) === 0) continue;
    const groups = (await redis.xinfo('GROUPS', key)) as unknown[][];
    for (const g of groups) {
      const info: Record<string, unknown> = {};
      for (let i = 0; i + 1 < g.length; i += 2) info[String(g[i])] = g[i + 1];
      if (info.name === group) total += Number(info.lag ?? 0);
    }
  }
  return total;
}

/** Entries of one stream as objects of their fields. */
export async function streamEntries(redis: Redis, key: string): Promise<{ id: string; fields: Record<string, string> }[]> {
  const raw = await redis.xrange(key, '-', '+');
  return raw.map(([id, flat]) => {
    const fields: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) fields[String(flat[i])] = String(flat[i + 1]);
    return { id, fields };
  });
}

export interface BulkTaskSpec {
  count: number;
  namePrefix: string;
  type: string;
  payload?: Record<string, unknown>;
  every: number;
  priority?: number;
  timeoutMs?: number;
  maxAttempts?: number;
  status?: 'running' | 'paused';
  /** Due time of the first slot; default now. */
  dueAt?: Date;
}

/**
 * Inserts many tasks straight into the store with multi-row INSERTs (what POST /tasks would write, minus the
 * queue mark, so that the publisher or the poller finds them due). Returns their ids in insertion order.
 */
export async function insertTasks(store: Store, spec: BulkTaskSpec): Promise<number[]> {
  const now = new Date();
  const due = spec.dueAt ?? now;
  const ids: number[] = [];
  const batchSize = 500;
  for (let offset = 0; offset < spec.count; offset += batchSize) {
    const rows = Array.from({ length: Math.min(batchSize, spec.count - offset) }, (_, i) => ({
      name: `${spec.namePrefix}-${offset + i}`,
      type: spec.type,
      payload: JSON.stringify(spec.payload ?? {}),
      schedule_every: spec.every,
      schedule_cron: null,
      schedule_tz: null,
      priority: spec.priority ?? 3,
      timeout_ms: spec.timeoutMs ?? 30_000,
      max_attempts: spec.maxAttempts ?? 3,
      status: spec.status ?? 'running',
      notify: null,
      next_run_at: due,
      run_after: due,
      attempts: 0,
      queued_until: null,
      created_at: now,
      updated_at: now,
    }));
    await store.db.insertInto('tasks').values(rows).execute();
  }
  // Multi-row inserts do not return every id on both dialects; read them back by the name prefix.
  const marker = `${spec.namePrefix}-`;
  const inserted = await store.db
    .selectFrom('tasks')
    .select(['id', 'name'])
    .where('name', 'like', `${marker}%`)
    .orderBy('id', 'asc')
    .execute();
  ids.push(...inserted.filter((r) => r.name.startsWith(marker)).map((r) => Number(r.id)));
  return ids;
}

/** Fails unless `check` keeps holding for `ms` (polled): for invariants that must hold over a window. */
export async function holdsFor(check: () => Promise<boolean> | boolean, ms: number, message: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!(await check())) throw new Error(`invariant broken: ${message}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function ms(value: Date | string | null): number {
  if (value === null) return Number.NaN;
  return value instanceof Date ? value.getTime() : Date.parse(value);
}
