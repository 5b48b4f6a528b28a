import { randomUUID } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Schedule,
  type Store,
  type TaskInsertParams,
  StoreError,
  StoreMigrator,
  deadLetterCount,
  deadLetterDelete,
  retentionDeleteBefore,
  deadLetterGetById,
  deadLetterInsert,
  deadLetterList,
  findMigrationsDir,
  firstSlotAfter,
  isStoreError,
  leaseRelease,
  nextSlot,
  openStore,
  runListBySlot,
  runListByTask,
  runStartMany,
  runStartWithMemory,
  slotClaimDue,
  slotCompleteMany,
  slotRunNow,
  taskDelete,
  taskGetById,
  taskGetByIdempotencyKey,
  taskGetByKey,
  taskInsert,
  taskInsertMany,
  taskList,
  taskMemoryGet,
  taskMemoryPut,
  taskUpdate,
  withTransaction,
  notificationListByTask,
} from '../internal/store/index.js';
import { type Dialect, type TestStore, createTestStore } from './support/services.js';

// Run in a zone far from UTC, with daylight saving, so that a driver reading or writing times in the process's
// local zone shows up as a shifted time rather than passing by accident on a UTC machine. Each test file runs in
// its own process (vitest pool `forks`), so this stays within this file.
process.env.TZ = 'America/New_York';

/**
 * The store contract: one suite, run unchanged against MySQL/MariaDB and SQLite, each in its own database. Tests
 * within a dialect share that database, so each one works on rows it made (its own task type, its own ids).
 */

const T0 = new Date('2024-05-06T07:08:09.123Z');

function at(offsetMs: number, base: Date = T0): Date {
  return new Date(base.getTime() + offsetMs);
}

let seq = 0;
function taskParams(overrides: Partial<TaskInsertParams> = {}): TaskInsertParams {
  seq += 1;
  return {
    name: `task ${seq}`,
    type: 'noop',
    payload: {},
    schedule: { every: 60 },
    priority: 3,
    timeoutMs: 30_000,
    maxAttempts: 3,
    status: 'running',
    notify: null,
    nextRunAt: T0,
    queuedUntil: null,
    idempotencyKey: null,
    requestHash: null,
    now: T0,
    ...overrides,
  };
}

/** The StoreError a promise rejects with; fails when it resolves or rejects with something else. */
async function storeErrorOf(promise: Promise<unknown>): Promise<StoreError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(StoreError);
    return err as StoreError;
  }
  throw new Error('expected the store call to reject');
}

/** A local TCP port that nothing listens on (taken from the OS, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const EXPECTED_COLUMNS = {
  tasks: [
    'id',
    'name',
    'key',
    'type',
    'payload',
    'priority',
    'timeout_ms',
    'max_attempts',
    'status',
    'notify',
    'next_run_at',
    'last_run_at',
    'last_status',
    'created_at',
    'updated_at',
  ],
  task_runs: [
    'id',
    'task_id',
    'slot',
    'attempt',
    'source',
    'status',
    'started_at',
    'finished_at',
    'duration_ms',
    'worker',
    'output',
    'error',
  ],
  dead_letters: ['id', 'task_id', 'slot', 'reason', 'error', 'fields', 'created_at'],
} as const;

describe.each(['mysql', 'sqlite'] as const)('store contract (%s)', (dialect: Dialect) => {
  let testStore: TestStore;
  let store: Store;

  beforeAll(async () => {
    testStore = await createTestStore(dialect, `contract_${dialect}`);
    store = testStore.store;
  });

  afterAll(async () => {
    await testStore?.cleanup();
  });

  async function insertRun(values: {
    taskId: number;
    slot: Date;
    attempt: number;
    status?: 'running' | 'succeeded' | 'failed' | 'timed_out';
    startedAt?: Date;
    finishedAt?: Date | null;
  }): Promise<number> {
    const status = values.status ?? 'succeeded';
    const startedAt = values.startedAt ?? values.slot;
    const finishedAt = values.finishedAt === undefined ? (status === 'running' ? null : at(12, startedAt)) : values.finishedAt;
    const result = await store.db
      .insertInto('task_runs')
      .values({
        task_id: values.taskId,
        slot: values.slot,
        attempt: values.attempt,
        source: 'periodic',
        status,
        started_at: startedAt,
        finished_at: finishedAt,
        duration_ms: finishedAt === null ? null : finishedAt.getTime() - startedAt.getTime(),
        worker: 'host:1:test',
        output: JSON.stringify({ up: true, attempt: values.attempt }),
        error: status === 'failed' ? 'boom' : null,
      })
      .executeTakeFirstOrThrow();
    return Number(result.insertId);
  }

  describe('migrations', () => {
    it('creates tasks, task_runs and dead_letters with the documented columns', async () => {
      const tables = await store.db.introspection.getTables();
      for (const [table, columns] of Object.entries(EXPECTED_COLUMNS)) {
        const found = tables.find((t) => t.name === table);
        expect(found, `table ${table}`).toBeDefined();
        const names = found?.columns.map((c) => c.name) ?? [];
        expect(names).toEqual(expect.arrayContaining([...columns]));
      }
      const tasks = tables.find((t) => t.name === 'tasks');
      // The schedule is stored in columns of its own; both kinds must fit.
      expect(tasks?.columns.map((c) => c.name)).toEqual(
        expect.arrayContaining(['schedule_every', 'schedule_cron', 'schedule_tz', 'idempotency_key', 'lease_token']),
      );
    });

    it('lists every migration file of the dialect in status, applied', async () => {
      const files = readdirSync(join(findMigrationsDir(), dialect))
        .filter((f) => f.endsWith('.up.sql'))
        .map((f) => f.replace(/\.up\.sql$/, ''))
        .sort();
      expect(files).toContain('001_init');
      const status = await new StoreMigrator(store).status();
      expect(status.map((s) => s.name)).toEqual(files);
      for (const s of status) expect(s.executedAt).toBeInstanceOf(Date);
    });

    it('has the same migrations for both dialects', () => {
      const names = (d: Dialect) =>
        readdirSync(join(findMigrationsDir(), d))
          .filter((f) => f.endsWith('.sql'))
          .sort();
      expect(names(dialect)).toEqual(names(dialect === 'mysql' ? 'sqlite' : 'mysql'));
    });

    it('does nothing when run up again', async () => {
      expect(await new StoreMigrator(store).up()).toEqual([]);
    });

    it('migrates down and up again', async () => {
      const migrator = new StoreMigrator(store);
      const before = await migrator.status();
      const latest = before.at(-1)?.name;
      expect(latest).toBeDefined();

      expect(await migrator.down()).toEqual([latest]);
      const afterDown = await migrator.status();
      expect(afterDown.find((s) => s.name === latest)?.executedAt).toBeUndefined();
      if (before.length === 1) {
        const tables = (await store.db.introspection.getTables()).map((t) => t.name);
        expect(tables).not.toContain('tasks');
        expect(tables).not.toContain('task_runs');
        expect(tables).not.toContain('dead_letters');
      }

      expect(await migrator.up()).toEqual([latest]);
      const afterUp = await migrator.status();
      expect(afterUp.every((s) => s.executedAt instanceof Date)).toBe(true);
      // The schema works again.
      const task = await taskInsert(store, taskParams({ type: 'after-remigrate' }));
      expect((await taskGetById(store, task.id))?.type).toBe('after-remigrate');
    });
  });

  describe('tasks', () => {
    it('round-trips every field of an every-schedule task', async () => {
      const params = taskParams({
        name: 'shop feed ✓',
        key: 'shop-feed-roundtrip',
        type: 'http',
        payload: { url: 'https://example.com/feed.json', headers: { 'x-a': 'b' }, expect: [200, 204], deep: { n: 1.5, f: false, z: null } },
        schedule: { every: 31_536_000 },
        priority: 5,
        timeoutMs: 1234,
        maxAttempts: 7,
        status: 'paused',
        notify: { webhook_url: 'https://hooks.example/x', on: ['down', 'up'] },
        nextRunAt: at(1000),
        queuedUntil: at(5000),
        idempotencyKey: 'idem-roundtrip-every',
        requestHash: 'a'.repeat(64),
        now: T0,
      });
      const inserted = await taskInsert(store, params);
      expect(inserted.id).toBeGreaterThan(0);
      const got = await taskGetById(store, inserted.id);
      expect(got).toEqual(inserted);
      expect(got).toEqual({
        id: inserted.id,
        name: 'shop feed ✓',
        key: 'shop-feed-roundtrip',
        type: 'http',
        payload: params.payload,
        schedule: { every: 31_536_000 },
        priority: 5,
        timeoutMs: 1234,
        maxAttempts: 7,
        status: 'paused',
        notify: params.notify,
        nextRunAt: at(1000),
        runAfter: at(1000),
        attempts: 0,
        pendingSource: null,
        leaseToken: null,
        lastRunAt: null,
        lastStatus: null,
        lastError: null,
        up: null,
        silencedUntil: null,
        createdAt: T0,
        updatedAt: T0,
      });
      // To the millisecond, as Date objects.
      expect(got?.nextRunAt).toBeInstanceOf(Date);
      expect(got?.nextRunAt.getTime()).toBe(T0.getTime() + 1000);
      expect(got?.createdAt.getTime()).toBe(T0.getTime());
    });

    it('round-trips cron schedules with and without a time zone', async () => {
      const schedules: Schedule[] = [{ cron: '*/5 * * * *', tz: 'Asia/Tokyo' }, { cron: '0 9 * * 1-5' }];
      for (const schedule of schedules) {
        const inserted = await taskInsert(store, taskParams({ schedule, type: 'cron-roundtrip' }));
        const got = await taskGetById(store, inserted.id);
        expect(got?.schedule).toEqual(schedule);
        expect(got).toEqual(inserted);
      }
    });

    it('stores times as UTC, whatever the zone of the process or the server', async () => {
      const task = await taskInsert(store, taskParams({ nextRunAt: T0 }));
      const row = await sql<{ v: string }>`select cast(next_run_at as char) as v from tasks where id = ${task.id}`.execute(
        store.db,
      );
      const raw = row.rows[0]?.v;
      expect(raw).toBe(dialect === 'mysql' ? '2024-05-06 07:08:09.123' : '2024-05-06T07:08:09.123Z');
    });

    it('answers undefined / false for a task that does not exist', async () => {
      expect(await taskGetById(store, 987_654_321)).toBeUndefined();
      expect(await taskUpdate(store, { id: 987_654_321, changes: { name: 'x' }, now: T0 })).toBeUndefined();
      expect(await taskDelete(store, 987_654_321)).toBe(false);
      expect(await taskGetByIdempotencyKey(store, 'never-used')).toBeUndefined();
    });

    it('refuses a duplicate idempotency key with StoreError conflict', async () => {
      const first = await taskInsert(store, taskParams({ idempotencyKey: 'idem-dup', requestHash: 'h1' }));
      const err = await storeErrorOf(taskInsert(store, taskParams({ idempotencyKey: 'idem-dup', requestHash: 'h2' })));
      expect(err.code).toBe('conflict');
      expect(isStoreError(err, 'conflict')).toBe(true);
      // Nothing was written by the refused insert.
      const found = await taskGetByIdempotencyKey(store, 'idem-dup');
      expect(found?.task.id).toBe(first.id);
      // Tasks without a key never conflict with each other.
      await taskInsert(store, taskParams({ idempotencyKey: null }));
      await taskInsert(store, taskParams({ idempotencyKey: null }));
    });

    it('keeps task keys unique and case-sensitive: a second task with a key refuses with StoreError conflict', async () => {
      const first = await taskInsert(store, taskParams({ key: 'contract-key', type: 'keyed' }));
      expect(first.key).toBe('contract-key');
      expect((await storeErrorOf(taskInsert(store, taskParams({ key: 'contract-key' })))).code).toBe('conflict');
      // Tasks without a key are many; a key differing only in case is another key.
      await taskInsert(store, taskParams({ key: null }));
      await taskInsert(store, taskParams({ key: null }));
      const upper = await taskInsert(store, taskParams({ key: 'CONTRACT-KEY', type: 'keyed' }));
      expect((await taskGetByKey(store, 'contract-key'))?.id).toBe(first.id);
      expect((await taskGetByKey(store, 'CONTRACT-KEY'))?.id).toBe(upper.id);
      expect(await taskGetByKey(store, 'no-such-key')).toBeUndefined();
      const page = await taskList(store, { key: 'contract-key', limit: 10 });
      expect(page.items.map((t) => t.id)).toEqual([first.id]);
      // A change to a taken key is refused too; removing a key frees it.
      expect((await storeErrorOf(taskUpdate(store, { id: upper.id, changes: { key: 'contract-key' }, now: T0 }))).code).toBe('conflict');
      expect((await taskUpdate(store, { id: first.id, changes: { key: null }, now: T0 }))?.key).toBeNull();
      expect((await taskUpdate(store, { id: upper.id, changes: { key: 'contract-key' }, now: T0 }))?.key).toBe('contract-key');
    });

    it('inserts many tasks at once, each under its own id, and none when one of them is refused', async () => {
      const params = [1, 2, 3].map((i) => taskParams({ name: `many ${dialect} ${i}`, priority: i }));
      const tasks = await taskInsertMany(store, params);
      expect(tasks.map((t) => t.name)).toEqual(params.map((p) => p.name));
      expect(new Set(tasks.map((t) => t.id)).size).toBe(3);
      for (const task of tasks) expect(await taskGetById(store, task.id)).toMatchObject({ name: task.name, priority: task.priority });

      await taskInsert(store, taskParams({ idempotencyKey: `many-dup-${dialect}`, requestHash: 'h' }));
      const refused = [
        taskParams({ name: `many refused ${dialect} a` }),
        taskParams({ name: `many refused ${dialect} b`, idempotencyKey: `many-dup-${dialect}`, requestHash: 'h' }),
      ];
      expect((await storeErrorOf(taskInsertMany(store, refused))).code).toBe('conflict');
      const kept = await store.db.selectFrom('tasks').select('name').where('name', 'like', `many refused ${dialect}%`).execute();
      expect(kept).toEqual([]);
    });

    it('finds a task by idempotency key together with the request hash', async () => {
      const hash = 'f'.repeat(64);
      const task = await taskInsert(store, taskParams({ idempotencyKey: 'idem-lookup', requestHash: hash }));
      const found = await taskGetByIdempotencyKey(store, 'idem-lookup');
      expect(found).toEqual({ task, requestHash: hash });
    });

    it('pages through a list: every row exactly once, next_cursor null at the end', async () => {
      const type = `page-${dialect}`;
      const ids: number[] = [];
      for (let i = 0; i < 7; i++) ids.push((await taskInsert(store, taskParams({ type }))).id);

      const seen: number[] = [];
      const sizes: number[] = [];
      let cursor: string | undefined;
      let pages = 0;
      for (;;) {
        const page = await taskList(store, { type, limit: 3, cursor });
        pages += 1;
        sizes.push(page.items.length);
        seen.push(...page.items.map((t) => t.id));
        if (page.nextCursor === null) break;
        cursor = page.nextCursor;
        expect(pages).toBeLessThan(10);
      }
      expect(pages).toBe(3);
      expect(sizes).toEqual([3, 3, 1]);
      expect(seen).toEqual(ids);
    });

    it('gives no next cursor when the last page is exactly full', async () => {
      const type = `page-exact-${dialect}`;
      for (let i = 0; i < 4; i++) await taskInsert(store, taskParams({ type }));
      const first = await taskList(store, { type, limit: 2 });
      expect(first.items).toHaveLength(2);
      expect(first.nextCursor).not.toBeNull();
      const second = await taskList(store, { type, limit: 2, cursor: first.nextCursor ?? undefined });
      expect(second.items).toHaveLength(2);
      expect(second.nextCursor).toBeNull();
    });

    it('filters by status and by type', async () => {
      const type = `filter-${dialect}`;
      const running = await taskInsert(store, taskParams({ type, status: 'running' }));
      const paused = await taskInsert(store, taskParams({ type, status: 'paused' }));
      await taskInsert(store, taskParams({ type: `${type}-other`, status: 'paused' }));

      const byType = await taskList(store, { type, limit: 50 });
      expect(byType.items.map((t) => t.id)).toEqual([running.id, paused.id]);
      const pausedOnly = await taskList(store, { type, status: 'paused', limit: 50 });
      expect(pausedOnly.items.map((t) => t.id)).toEqual([paused.id]);
      const runningOnly = await taskList(store, { type, status: 'running', limit: 50 });
      expect(runningOnly.items.map((t) => t.id)).toEqual([running.id]);
      const allPaused = await taskList(store, { status: 'paused', limit: 1000 });
      expect(allPaused.items.every((t) => t.status === 'paused')).toBe(true);
      expect(allPaused.items.map((t) => t.id)).toContain(paused.id);
    });

    it('tolerates a cursor that is not one of its own', async () => {
      const type = `garbage-cursor-${dialect}`;
      const a = await taskInsert(store, taskParams({ type }));
      const b = await taskInsert(store, taskParams({ type }));
      for (const cursor of ['garbage!!', '', '%%%', Buffer.from('-3').toString('base64url'), 'MA']) {
        const page = await taskList(store, { type, limit: 10, cursor });
        expect(page.items.map((t) => t.id)).toEqual([a.id, b.id]);
        expect(page.nextCursor).toBeNull();
      }
    });

    it('changes the given fields and leaves the others', async () => {
      const task = await taskInsert(
        store,
        taskParams({ type: 'update', payload: { a: 1 }, notify: { webhook_url: 'https://h.example/1', on: ['down'] } }),
      );
      const later = at(60_000);
      const updated = await taskUpdate(store, {
        id: task.id,
        changes: {
          name: 'renamed',
          payload: { b: [1, 2] },
          schedule: { cron: '0 * * * *', tz: 'Europe/Berlin' },
          priority: 1,
          timeoutMs: 999,
          maxAttempts: 1,
          status: 'paused',
        },
        now: later,
      });
      expect(updated).toEqual({
        ...task,
        name: 'renamed',
        payload: { b: [1, 2] },
        schedule: { cron: '0 * * * *', tz: 'Europe/Berlin' },
        priority: 1,
        timeoutMs: 999,
        maxAttempts: 1,
        status: 'paused',
        updatedAt: later,
      });
      expect(await taskGetById(store, task.id)).toEqual(updated);

      // notify: null clears it; a schedule change back to `every` clears the cron columns.
      const cleared = await taskUpdate(store, { id: task.id, changes: { notify: null, schedule: { every: 5 } }, now: later });
      expect(cleared?.notify).toBeNull();
      expect(cleared?.schedule).toEqual({ every: 5 });
      expect(cleared?.name).toBe('renamed');
    });

    it('moves next_run_at only while no slot is in progress (leased, or awaiting a retry)', async () => {
      const task = await taskInsert(store, taskParams({ type: 'update-lease', nextRunAt: T0, queuedUntil: at(1000) }));
      const leasedQueuedUntil = at(2000);
      await store.db
        .updateTable('tasks')
        .set({ lease_token: '00000000-0000-4000-8000-000000000001', attempts: 2, queued_until: leasedQueuedUntil })
        .where('id', '=', task.id)
        .execute();

      const moved = at(3_600_000);
      const whileLeased = await taskUpdate(store, {
        id: task.id,
        changes: { schedule: { every: 3600 } },
        nextRunAt: moved,
        now: at(10),
      });
      // The other changes apply; the running slot keeps its place.
      expect(whileLeased?.schedule).toEqual({ every: 3600 });
      expect(whileLeased?.nextRunAt).toEqual(T0);
      expect(whileLeased?.runAfter).toEqual(T0);
      expect(whileLeased?.attempts).toBe(2);
      expect(whileLeased?.leaseToken).toBe('00000000-0000-4000-8000-000000000001');
      const leasedRow = await store.db.selectFrom('tasks').select('queued_until').where('id', '=', task.id).executeTakeFirstOrThrow();
      expect(new Date(leasedRow.queued_until as Date | string).getTime()).toBe(leasedQueuedUntil.getTime());

      // Lease gone but two attempts used: the slot awaits a retry and must still reach its outcome, so it stays.
      await store.db.updateTable('tasks').set({ lease_token: null }).where('id', '=', task.id).execute();
      const awaitingRetry = await taskUpdate(store, { id: task.id, changes: {}, nextRunAt: moved, now: at(15) });
      expect(awaitingRetry?.nextRunAt).toEqual(T0);
      expect(awaitingRetry?.attempts).toBe(2);

      await store.db.updateTable('tasks').set({ attempts: 0, pending_source: 'manual' }).where('id', '=', task.id).execute();
      const free = await taskUpdate(store, { id: task.id, changes: {}, nextRunAt: moved, now: at(20) });
      expect(free?.nextRunAt).toEqual(moved);
      expect(free?.runAfter).toEqual(moved);
      expect(free?.attempts).toBe(0);
      expect(free?.pendingSource).toBeNull();
      expect(free?.updatedAt).toEqual(at(20));
      const freeRow = await store.db.selectFrom('tasks').select('queued_until').where('id', '=', task.id).executeTakeFirstOrThrow();
      expect(freeRow.queued_until).toBeNull();
    });

    it('leaves next_run_at alone when no new slot is given', async () => {
      const task = await taskInsert(store, taskParams({ type: 'update-no-slot', nextRunAt: at(500) }));
      const updated = await taskUpdate(store, { id: task.id, changes: { name: 'n' }, now: at(1) });
      expect(updated?.nextRunAt).toEqual(at(500));
    });

    it('deletes a task and, by cascade, its runs', async () => {
      const task = await taskInsert(store, taskParams({ type: 'delete-cascade' }));
      const keep = await taskInsert(store, taskParams({ type: 'delete-cascade' }));
      await insertRun({ taskId: task.id, slot: T0, attempt: 1 });
      await insertRun({ taskId: task.id, slot: T0, attempt: 2 });
      await insertRun({ taskId: keep.id, slot: T0, attempt: 1 });
      expect((await runListByTask(store, { taskId: task.id, limit: 10 })).items).toHaveLength(2);

      expect(await taskDelete(store, task.id)).toBe(true);
      expect(await taskGetById(store, task.id)).toBeUndefined();
      const orphans = await store.db.selectFrom('task_runs').select('id').where('task_id', '=', task.id).execute();
      expect(orphans).toEqual([]);
      expect((await runListByTask(store, { taskId: keep.id, limit: 10 })).items).toHaveLength(1);
      expect(await taskDelete(store, task.id)).toBe(false);
    });
  });

  describe('runs', () => {
    it('refuses a second row for the same (task, slot, attempt) with StoreError conflict', async () => {
      const task = await taskInsert(store, taskParams({ type: 'run-unique' }));
      await insertRun({ taskId: task.id, slot: T0, attempt: 1 });
      const err = await storeErrorOf(insertRun({ taskId: task.id, slot: T0, attempt: 1, status: 'running' }));
      expect(err.code).toBe('conflict');
      // Another attempt, or the same attempt of another slot, is fine.
      await insertRun({ taskId: task.id, slot: T0, attempt: 2 });
      await insertRun({ taskId: task.id, slot: at(60_000), attempt: 1 });
      const slotRuns = await runListBySlot(store, { taskId: task.id, slot: T0 });
      expect(slotRuns.map((r) => r.attempt)).toEqual([1, 2]);
    });

    it('refuses a run of a task that does not exist with StoreError not_found', async () => {
      const err = await storeErrorOf(insertRun({ taskId: 987_654_321, slot: T0, attempt: 1 }));
      expect(err.code).toBe('not_found');
    });

    it('lists a task’s runs newest first, page by page', async () => {
      const task = await taskInsert(store, taskParams({ type: 'run-list' }));
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push(await insertRun({ taskId: task.id, slot: at(i * 60_000), attempt: 1, startedAt: at(i * 60_000 + 5) }));
      }
      const first = await runListByTask(store, { taskId: task.id, limit: 2 });
      expect(first.items.map((r) => r.id)).toEqual([ids[4], ids[3]]);
      expect(first.nextCursor).not.toBeNull();
      const second = await runListByTask(store, { taskId: task.id, limit: 2, cursor: first.nextCursor ?? undefined });
      expect(second.items.map((r) => r.id)).toEqual([ids[2], ids[1]]);
      const third = await runListByTask(store, { taskId: task.id, limit: 2, cursor: second.nextCursor ?? undefined });
      expect(third.items.map((r) => r.id)).toEqual([ids[0]]);
      expect(third.nextCursor).toBeNull();

      const newest = first.items[0];
      expect(newest).toEqual({
        id: ids[4],
        taskId: task.id,
        slot: at(4 * 60_000),
        attempt: 1,
        source: 'periodic',
        status: 'succeeded',
        startedAt: at(4 * 60_000 + 5),
        finishedAt: at(4 * 60_000 + 17),
        durationMs: 12,
        worker: 'host:1:test',
        output: { up: true, attempt: 1 },
        error: null,
      });
    });

    it('deletes only finished runs older than the cutoff, at most `limit` at a time', async () => {
      const task = await taskInsert(store, taskParams({ type: 'run-retention' }));
      const old = new Date('2001-01-01T00:00:00.000Z');
      const cutoff = new Date('2002-01-01T00:00:00.000Z');
      const oldDone = [
        await insertRun({ taskId: task.id, slot: at(0, old), attempt: 1, status: 'succeeded' }),
        await insertRun({ taskId: task.id, slot: at(0, old), attempt: 2, status: 'failed' }),
        await insertRun({ taskId: task.id, slot: at(1000, old), attempt: 1, status: 'timed_out' }),
      ];
      const oldRunning = await insertRun({ taskId: task.id, slot: at(2000, old), attempt: 1, status: 'running' });
      const recent = await insertRun({ taskId: task.id, slot: at(0, cutoff), attempt: 1, status: 'succeeded' });

      expect(await retentionDeleteBefore(store, 'task_runs', { before: cutoff, limit: 2 })).toBe(2);
      expect(await retentionDeleteBefore(store, 'task_runs', { before: cutoff, limit: 2 })).toBe(1);
      expect(await retentionDeleteBefore(store, 'task_runs', { before: cutoff, limit: 2 })).toBe(0);

      const left = (await runListByTask(store, { taskId: task.id, limit: 10 })).items.map((r) => r.id);
      expect(left.sort((a, b) => a - b)).toEqual([oldRunning, recent]);
      for (const id of oldDone) expect(left).not.toContain(id);
    });
  });

  describe('run starts and outcomes, many per statement', () => {
    // The retry policy of these tests: every retry waits 500 ms.
    const retryDelayMs = () => 500;

    /** Inserts tasks of a type of their own and claims them all, as a poller would. */
    async function claimNew(type: string, overrides: Partial<TaskInsertParams>[]) {
      const tasks = [];
      for (const o of overrides) tasks.push(await taskInsert(store, taskParams({ type, ...o })));
      const claims = await slotClaimDue(store, {
        workerId: 'host:1:batch',
        leaseToken: `token-${type}`,
        leaseMs: 60_000,
        now: at(1000),
        typePatterns: [type],
        limit: 100,
        channel: 'poll',
      });
      expect(claims).toHaveLength(tasks.length);
      return tasks.map((t) => claims.find((c) => c.task.id === t.id) as (typeof claims)[number]);
    }

    async function stealLease(taskId: number) {
      await store.db.updateTable('tasks').set({ lease_token: 'someone-else' }).where('id', '=', taskId).execute();
    }

    it('starts every claim whose lease holds, and each attempt once however often it is asked', async () => {
      const type = `batch_start_${dialect}`;
      const [a, b, c] = await claimNew(type, [{}, { priority: 5 }, {}]);
      if (a === undefined || b === undefined || c === undefined) throw new Error('claims missing');
      await stealLease(c.task.id);

      const started = await runStartMany(store, { claims: [a, b, c], workerId: 'host:1:batch', now: at(1100) });
      expect([...started.keys()].map((k) => k.task.id).sort()).toEqual([a.task.id, b.task.id].sort());
      expect(new Set(started.values()).size).toBe(2);
      for (const claim of [a, b]) {
        const runs = (await runListByTask(store, { taskId: claim.task.id, limit: 10 })).items;
        expect(runs).toHaveLength(1);
        expect(runs[0]).toMatchObject({ id: started.get(claim), slot: T0, attempt: 1, source: 'poll', status: 'running', startedAt: at(1100) });
      }
      expect((await runListByTask(store, { taskId: c.task.id, limit: 10 })).items).toHaveLength(0);

      // The same starts again (a retry after a lost answer): nothing new is written, and the answer is the same.
      const again = await runStartMany(store, { claims: [a, b, c], workerId: 'host:1:batch', now: at(1200) });
      expect(again).toEqual(started);
      expect((await runListByTask(store, { taskId: a.task.id, limit: 10 })).items).toHaveLength(1);
    });

    it('gives each of many claims started at once its own run row and its own memory, in any order and beside another batch', async () => {
      const type = `batch_many_${dialect}`;
      const claims = await claimNew(type, Array.from({ length: 40 }, (_, i) => ({ priority: 1 + (i % 5) })));
      for (const claim of claims.filter((_, i) => i % 3 === 0)) {
        await taskMemoryPut(store, { taskId: claim.task.id, value: { kept: claim.task.id }, now: at(900) });
      }
      // Out of task id order, and in two batches written at the same time.
      const shuffled = [...claims].sort((x, y) => ((x.task.id * 7919) % 41) - ((y.task.id * 7919) % 41));
      const [first, second] = await Promise.all([
        runStartWithMemory(store, { claims: shuffled.slice(0, 25), workerId: 'host:1:batch', now: at(1100) }),
        runStartWithMemory(store, { claims: shuffled.slice(25), workerId: 'host:2:batch', now: at(1100) }),
      ]);
      const started = new Map([...first, ...second]);
      expect(started.size).toBe(40);
      const rows = await store.db.selectFrom('task_runs').selectAll().where('task_id', 'in', claims.map((c) => c.task.id)).execute();
      expect(rows).toHaveLength(40);
      const byId = new Map(rows.map((row) => [Number(row.id), row]));
      for (const claim of claims) {
        const run = started.get(claim);
        const row = byId.get(run?.runId as number);
        expect(row && [Number(row.task_id), new Date(row.slot).getTime(), Number(row.attempt)]).toEqual([claim.task.id, claim.slot.getTime(), claim.attempt]);
        expect(run?.memory).toEqual(claims.indexOf(claim) % 3 === 0 ? { kept: claim.task.id } : null);
      }
    });

    it('starts the live one of two claims of the same task in one call', async () => {
      const type = `batch_twice_${dialect}`;
      const [live] = await claimNew(type, [{}]);
      if (live === undefined) throw new Error('claim missing');
      const stale = { ...live, leaseToken: 'an-expired-claim' };
      // The stale claim comes first in one call and second in the other: either way only the live one starts.
      const started = await runStartMany(store, { claims: [stale, live], workerId: 'host:1:batch', now: at(1100) });
      expect([...started.keys()]).toEqual([live]);
      const again = await runStartMany(store, { claims: [live, stale], workerId: 'host:1:batch', now: at(1100) });
      expect([...again.keys()]).toEqual([live]);
      expect(again.get(live)).toBe(started.get(live));
    });

    it('records nothing onto a run row that is no longer open, and still records its batch-mates', async () => {
      const type = `batch_closed_run_${dialect}`;
      const [good, closed] = await claimNew(type, [{}, {}]);
      if (good === undefined || closed === undefined) throw new Error('claims missing');
      const started = await runStartMany(store, { claims: [good, closed], workerId: 'host:1:batch', now: at(1100) });
      // The lease still holds, but the attempt's run row was finished meanwhile (recovery of an earlier holder).
      const closedRun = started.get(closed) as number;
      await store.db.updateTable('task_runs').set({ status: 'failed', error: 'ended elsewhere', finished_at: at(1500) }).where('id', '=', closedRun).execute();
      const before = await store.db.selectFrom('task_runs').selectAll().where('id', '=', closedRun).executeTakeFirstOrThrow();
      const result = { status: 'succeeded' as const, output: { fine: true }, error: null, startedAt: at(1100), durationMs: 3 };
      const completions = await slotCompleteMany(store, {
        now: at(2000),
        retryDelayMs,
        items: [
          { claim: closed, runId: closedRun, result },
          { claim: good, runId: started.get(good) as number, result },
        ],
      });
      expect(completions.map((c) => c.kind)).toEqual(['lease_lost', 'succeeded']);
      expect(await store.db.selectFrom('task_runs').selectAll().where('id', '=', closedRun).executeTakeFirstOrThrow()).toEqual(before);
      const goodRuns = (await runListByTask(store, { taskId: good.task.id, limit: 10 })).items;
      expect(goodRuns.map((r) => [r.status, r.output])).toEqual([['succeeded', { fine: true }]]);
      // The slot whose run was not recorded keeps its lease: recovery, not this batch, decides what happens to it.
      expect((await taskGetById(store, closed.task.id))?.leaseToken).toBe(closed.leaseToken);
    });

    it('records a batch of mixed outcomes, each as it would be alone, fenced by its lease', async () => {
      const type = `batch_complete_${dialect}`;
      const notify = { webhook_url: 'http://hooks.example/x', on: ['down'] };
      const [ok, monitor, failing, exhausted, lost] = await claimNew(type, [
        { schedule: { every: 60 } },
        { schedule: { every: 30 }, notify },
        { maxAttempts: 3 },
        { maxAttempts: 1 },
        {},
      ]);
      if (!ok || !monitor || !failing || !exhausted || !lost) throw new Error('claims missing');
      const claims = [ok, monitor, failing, exhausted, lost];
      const started = await runStartMany(store, { claims, workerId: 'host:1:batch', now: at(1100) });
      expect(started.size).toBe(5);
      await stealLease(lost.task.id);

      const ended = (status: 'succeeded' | 'failed', error: string | null = null, output: unknown = null) => ({
        status,
        output,
        error,
        startedAt: at(1100),
        durationMs: 7,
      });
      const runId = (claim: typeof ok) => started.get(claim) as number;
      const now = at(2000);
      const completions = await slotCompleteMany(store, {
        now,
        retryDelayMs,
        items: [
          { claim: ok, runId: runId(ok), result: ended('succeeded', null, { fine: true }) },
          {
            claim: monitor,
            runId: runId(monitor),
            result: ended('succeeded', null, { up: false, events: ['down'] }),
            effects: { up: false, memory: { seen: ['a'] }, events: ['down'] },
          },
          { claim: failing, runId: runId(failing), result: ended('failed', 'boom') },
          { claim: exhausted, runId: runId(exhausted), result: ended('failed', 'bang') },
          { claim: lost, runId: runId(lost), result: ended('succeeded') },
        ],
      });

      expect(completions.map((c) => c.kind)).toEqual(['succeeded', 'succeeded', 'retry', 'exhausted', 'lease_lost']);
      expect(completions[0]).toEqual({ kind: 'succeeded', nextRunAt: at(60_000) });
      expect(completions[1]).toEqual({ kind: 'succeeded', nextRunAt: at(30_000) });
      expect(completions[2]).toEqual({ kind: 'retry', runAfter: at(500, now) });

      const task = async (claim: typeof ok) => (await taskGetById(store, claim.task.id)) as NonNullable<Awaited<ReturnType<typeof taskGetById>>>;
      const run = async (claim: typeof ok) => (await runListByTask(store, { taskId: claim.task.id, limit: 1 })).items[0];

      expect(await task(ok)).toMatchObject({ nextRunAt: at(60_000), runAfter: at(60_000), attempts: 0, leaseToken: null, lastStatus: 'succeeded', lastRunAt: at(1100), up: null });
      expect(await run(ok)).toMatchObject({ status: 'succeeded', finishedAt: now, durationMs: 7, output: { fine: true }, error: null });

      expect(await task(monitor)).toMatchObject({ nextRunAt: at(30_000), up: false, lastStatus: 'succeeded', leaseToken: null });
      expect(await taskMemoryGet(store, monitor.task.id)).toEqual({ seen: ['a'] });
      const notes = (await notificationListByTask(store, { taskId: monitor.task.id, limit: 10 })).items;
      expect(notes).toHaveLength(1);
      expect(notes[0]).toMatchObject({ event: 'down', runId: runId(monitor) });

      expect(await task(failing)).toMatchObject({ nextRunAt: T0, runAfter: at(500, now), attempts: 1, pendingSource: 'retry', leaseToken: null, lastError: 'boom' });
      expect(await run(failing)).toMatchObject({ status: 'failed', error: 'boom' });

      const done = completions[3] as Extract<(typeof completions)[number], { kind: 'exhausted' }>;
      expect(await task(exhausted)).toMatchObject({ nextRunAt: at(60_000), attempts: 0, lastStatus: 'failed', lastError: 'bang', leaseToken: null });
      expect(await deadLetterGetById(store, done.deadLetterId)).toMatchObject({ taskId: exhausted.task.id, reason: 'attempts_exhausted', error: 'bang' });

      // The lease was taken over: neither the run nor the task shows this process's outcome.
      expect(await task(lost)).toMatchObject({ leaseToken: 'someone-else', lastStatus: null });
      expect(await run(lost)).toMatchObject({ status: 'running', finishedAt: null });
    });
  });

  describe('slots only move forward; each attempt starts once; a finished run is never written again (G3)', () => {
    const retryDelayMs = () => 500;
    const worker = 'host:1:forward';

    async function claimOne(type: string, now: Date, leaseMs = 60_000) {
      const [claim] = await slotClaimDue(store, { workerId: worker, leaseToken: randomUUID(), leaseMs, now, typePatterns: [type], limit: 1, channel: 'poll' });
      return claim;
    }

    async function runOne(type: string, now: Date) {
      const claim = await claimOne(type, now);
      if (claim === undefined) throw new Error('nothing to claim');
      const started = await runStartMany(store, { claims: [claim], workerId: worker, now: at(100, now) });
      const runId = started.get(claim);
      if (runId === undefined) throw new Error('not started');
      const result = { status: 'succeeded' as const, output: { n: runId }, error: null, startedAt: at(100, now), durationMs: 5 };
      const [completion] = await slotCompleteMany(store, { now: at(200, now), retryDelayMs, items: [{ claim, runId, result }] });
      return { claim, runId, completion };
    }

    async function runRow(id: number) {
      return store.db.selectFrom('task_runs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    }

    it('"run now" recorded while the slot ran, by a clock behind the one that claimed it, runs after that slot', async () => {
      const type = `fwd_manual_${dialect}`;
      const task = await taskInsert(store, taskParams({ type, nextRunAt: T0 }));
      const claim = await claimOne(type, at(1000));
      if (claim === undefined) throw new Error('nothing to claim');
      const started = await runStartMany(store, { claims: [claim], workerId: worker, now: at(1100) });
      const runId = started.get(claim) as number;
      // The API's clock is 1.5 s behind: its "now" lies before the slot that is running.
      await slotRunNow(store, { id: task.id, now: at(-500), queuedUntil: null });
      const result = { status: 'succeeded' as const, output: null, error: null, startedAt: at(1100), durationMs: 5 };
      const [completion] = await slotCompleteMany(store, { now: at(2000), retryDelayMs, items: [{ claim, runId, result }] });
      expect(completion).toEqual({ kind: 'succeeded', nextRunAt: at(1) });
      const after = await taskGetById(store, task.id);
      expect(after?.nextRunAt.getTime()).toBeGreaterThan(T0.getTime());
      expect(after?.pendingSource).toBe('manual');
      // The manual slot runs as a slot of its own, and the first run keeps its outcome.
      const second = await runOne(type, at(3000));
      expect(second.claim.slot).toEqual(at(1));
      expect(second.runId).not.toBe(runId);
      expect((await runRow(runId)).status).toBe('succeeded');
      expect((await runListByTask(store, { taskId: task.id, limit: 10 })).items).toHaveLength(2);
    });

    it('"run now" on a free task never brings back a slot that already ran, and its run is not written again', async () => {
      const type = `fwd_free_${dialect}`;
      const task = await taskInsert(store, taskParams({ type, nextRunAt: T0 }));
      const first = await runOne(type, at(1000));
      const before = await runRow(first.runId);
      // Asked with a "now" equal to the slot that ran (a clock behind): the new slot comes after it.
      const queued = await slotRunNow(store, { id: task.id, now: T0, queuedUntil: null });
      expect(queued?.nextRunAt.getTime()).toBeGreaterThan(T0.getTime());
      const second = await runOne(type, at(2000));
      expect(second.completion?.kind).toBe('succeeded');
      expect(second.runId).not.toBe(first.runId);
      expect(await runRow(first.runId)).toEqual(before);
      const keys = (await runListByTask(store, { taskId: task.id, limit: 10 })).items.map((r) => `${r.slot.toISOString()}/${r.attempt}`);
      expect(new Set(keys).size).toBe(2);
    });

    it('a new schedule never brings back a slot that already ran', async () => {
      const type = `fwd_patch_${dialect}`;
      const task = await taskInsert(store, taskParams({ type, nextRunAt: T0 }));
      await runOne(type, at(1000));
      // The first slot after "now" of a clock 2 s behind the one that ran the slot.
      const updated = await taskUpdate(store, { id: task.id, changes: { schedule: { every: 1 } }, nextRunAt: at(-1000), now: at(-2000) });
      expect(updated?.nextRunAt.getTime()).toBeGreaterThan(T0.getTime());
      expect(updated?.runAfter.getTime()).toBeGreaterThan(T0.getTime());
    });

    it('an attempt whose slot was forced back (a writer without the guard) is not started again, nor its run overwritten', async () => {
      const type = `fwd_forced_${dialect}`;
      const task = await taskInsert(store, taskParams({ type, nextRunAt: T0 }));
      const first = await runOne(type, at(1000));
      const before = await runRow(first.runId);
      await store.db.updateTable('tasks').set({ next_run_at: T0, run_after: T0, attempts: 0 }).where('id', '=', task.id).execute();
      const claim = await claimOne(type, at(2000));
      if (claim === undefined) throw new Error('nothing to claim');
      expect([claim.slot, claim.attempt]).toEqual([T0, 1]);
      expect((await runStartMany(store, { claims: [claim], workerId: worker, now: at(2100) })).size).toBe(0);
      // Even handed the finished run's id under a live lease, a completion writes nothing.
      const result = { status: 'failed' as const, output: null, error: 'late', startedAt: at(2100), durationMs: 1 };
      const [completion] = await slotCompleteMany(store, { now: at(2200), retryDelayMs, items: [{ claim, runId: first.runId, result }] });
      expect(completion).toEqual({ kind: 'lease_lost' });
      expect(await runRow(first.runId)).toEqual(before);
    });

    it('refuses a start whose lease has expired, even before recovery ran, and leaves the slot to recovery', async () => {
      const type = `fwd_expired_${dialect}`;
      const task = await taskInsert(store, taskParams({ type, nextRunAt: T0 }));
      const claim = await claimOne(type, at(1000), 1000);
      if (claim === undefined) throw new Error('nothing to claim');
      expect(claim.leaseExpiresAt).toEqual(at(2000));
      expect((await runStartMany(store, { claims: [claim], workerId: worker, now: at(2000) })).size).toBe(0);
      expect((await runListByTask(store, { taskId: task.id, limit: 10 })).items).toHaveLength(0);
      // Given back (it never started): due again, attempt unused.
      await leaseRelease(store, { claims: [claim] });
      expect(await taskGetById(store, task.id)).toMatchObject({ leaseToken: null, attempts: 0, nextRunAt: T0 });
    });

    it('never gives back a lease whose attempt started: that is recovery’s', async () => {
      const type = `fwd_release_started_${dialect}`;
      const task = await taskInsert(store, taskParams({ type, nextRunAt: T0 }));
      const claim = await claimOne(type, at(1000));
      if (claim === undefined) throw new Error('nothing to claim');
      expect((await runStartMany(store, { claims: [claim], workerId: worker, now: at(1100) })).size).toBe(1);
      await leaseRelease(store, { claims: [claim] });
      expect(await taskGetById(store, task.id)).toMatchObject({ leaseToken: claim.leaseToken, attempts: 1 });
    });

    it('starts nothing of a task paused or deleted after its claim, and the paused one keeps its slot for later', async () => {
      const type = `fwd_paused_${dialect}`;
      const paused = await taskInsert(store, taskParams({ type, nextRunAt: T0 }));
      const deleted = await taskInsert(store, taskParams({ type, nextRunAt: T0 }));
      const claims = await slotClaimDue(store, { workerId: worker, leaseToken: `${type}-lease`, leaseMs: 60_000, now: at(1000), typePatterns: [type], limit: 10, channel: 'poll' });
      expect(claims).toHaveLength(2);
      await taskUpdate(store, { id: paused.id, changes: { status: 'paused' }, now: at(1050) });
      await taskDelete(store, deleted.id);
      expect((await runStartMany(store, { claims, workerId: worker, now: at(1100) })).size).toBe(0);
      expect((await runListByTask(store, { taskId: paused.id, limit: 10 })).items).toHaveLength(0);
      await leaseRelease(store, { claims });
      expect(await taskGetById(store, paused.id)).toMatchObject({ status: 'paused', leaseToken: null, attempts: 0, nextRunAt: T0 });
      // Resumed, the same slot runs (once).
      await taskUpdate(store, { id: paused.id, changes: { status: 'running' }, now: at(1200) });
      const again = await runOne(type, at(1300));
      expect(again.claim.slot).toEqual(T0);
      expect(again.completion?.kind).toBe('succeeded');
    });
  });

  describe('dead letters', () => {
    it('inserts, reads, lists, counts and deletes', async () => {
      await store.db.deleteFrom('dead_letters').execute();
      expect(await deadLetterCount(store)).toBe(0);

      const fields = { task_id: '42', slot: 'not-a-date', source: 'periodic', nested: { ok: true } };
      const malformedId = await deadLetterInsert(store, {
        taskId: null,
        slot: null,
        reason: 'malformed',
        error: 'slot is not a date',
        fields,
        now: T0,
      });
      const exhaustedId = await deadLetterInsert(store, {
        taskId: 42,
        slot: at(-60_000),
        reason: 'attempts_exhausted',
        error: 'timed out',
        fields: { task_id: '42' },
        now: at(1),
      });
      const unknownId = await deadLetterInsert(store, {
        taskId: 43,
        slot: T0,
        reason: 'unknown_type',
        error: null,
        fields: {},
        now: at(2),
      });
      expect(await deadLetterCount(store)).toBe(3);

      expect(await deadLetterGetById(store, malformedId)).toEqual({
        id: malformedId,
        taskId: null,
        slot: null,
        reason: 'malformed',
        error: 'slot is not a date',
        fields,
        createdAt: T0,
      });
      expect(await deadLetterGetById(store, exhaustedId)).toMatchObject({ taskId: 42, slot: at(-60_000), error: 'timed out' });
      expect(await deadLetterGetById(store, 987_654_321)).toBeUndefined();

      // Newest first, paginated.
      const first = await deadLetterList(store, { limit: 2 });
      expect(first.items.map((d) => d.id)).toEqual([unknownId, exhaustedId]);
      expect(first.nextCursor).not.toBeNull();
      const second = await deadLetterList(store, { limit: 2, cursor: first.nextCursor ?? undefined });
      expect(second.items.map((d) => d.id)).toEqual([malformedId]);
      expect(second.nextCursor).toBeNull();
      const byReason = await deadLetterList(store, { limit: 10, reason: 'attempts_exhausted' });
      expect(byReason.items.map((d) => d.id)).toEqual([exhaustedId]);

      expect(await deadLetterDelete(store, exhaustedId)).toBe(true);
      expect(await deadLetterDelete(store, exhaustedId)).toBe(false);
      expect(await deadLetterGetById(store, exhaustedId)).toBeUndefined();
      expect(await deadLetterCount(store)).toBe(2);
    });

    it('deletes dead letters created before a cutoff, at most `limit` at a time', async () => {
      await store.db.deleteFrom('dead_letters').execute();
      const old = new Date('2001-06-01T00:00:00.000Z');
      const cutoff = new Date('2002-01-01T00:00:00.000Z');
      for (let i = 0; i < 3; i++) {
        await deadLetterInsert(store, { taskId: i, slot: null, reason: 'unknown_task', error: null, fields: {}, now: at(i, old) });
      }
      const keptId = await deadLetterInsert(store, {
        taskId: 9,
        slot: null,
        reason: 'unknown_task',
        error: null,
        fields: {},
        now: cutoff, // not before the cutoff
      });
      expect(await retentionDeleteBefore(store, 'dead_letters', { before: cutoff, limit: 2 })).toBe(2);
      expect(await retentionDeleteBefore(store, 'dead_letters', { before: cutoff, limit: 2 })).toBe(1);
      expect(await retentionDeleteBefore(store, 'dead_letters', { before: cutoff, limit: 2 })).toBe(0);
      expect(await deadLetterCount(store)).toBe(1);
      expect((await deadLetterList(store, { limit: 10 })).items.map((d) => d.id)).toEqual([keptId]);
    });
  });

  describe('transactions', () => {
    it('commits what the function wrote when it returns', async () => {
      const id = await withTransaction(store, async (trx) => {
        const task = await taskInsert(trx, taskParams({ type: 'trx-commit' }));
        await taskUpdate(trx, { id: task.id, changes: { name: 'committed' }, now: at(1) });
        return task.id;
      });
      expect((await taskGetById(store, id))?.name).toBe('committed');
    });

    it('rolls back everything the function wrote when it throws, and rethrows', async () => {
      const type = `trx-rollback-${dialect}`;
      const existing = await taskInsert(store, taskParams({ type, name: 'before' }));
      let insertedId: number | undefined;
      const failure = new Error('handler blew up');
      await expect(
        withTransaction(store, async (trx) => {
          insertedId = (await taskInsert(trx, taskParams({ type }))).id;
          await taskUpdate(trx, { id: existing.id, changes: { name: 'during' }, now: at(1) });
          // Visible inside the transaction...
          expect(await taskGetById(trx, insertedId)).toBeDefined();
          throw failure;
        }),
      ).rejects.toBe(failure);
      // ...and gone after it.
      expect(insertedId).toBeDefined();
      expect(await taskGetById(store, insertedId as number)).toBeUndefined();
      expect((await taskGetById(store, existing.id))?.name).toBe('before');
      expect((await taskList(store, { type, limit: 10 })).items.map((t) => t.id)).toEqual([existing.id]);
    });

    it('rolls back when a statement inside fails with a StoreError', async () => {
      const type = `trx-conflict-${dialect}`;
      await taskInsert(store, taskParams({ type, idempotencyKey: `trx-key-${dialect}` }));
      const err = await storeErrorOf(
        withTransaction(store, async (trx) => {
          await taskInsert(trx, taskParams({ type }));
          await taskInsert(trx, taskParams({ type, idempotencyKey: `trx-key-${dialect}` }));
        }),
      );
      expect(err.code).toBe('conflict');
      expect((await taskList(store, { type, limit: 10 })).items).toHaveLength(1);
    });
  });

  it('answers ping', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });

  if (dialect === 'mysql') {
    describe('unreachable server', () => {
      let dead: Store;
      beforeAll(async () => {
        const port = await closedPort();
        dead = openStore({ mysqlDsn: `mysql://root:pw@127.0.0.1:${port}/vigil`, connectTimeoutMs: 500, poolSize: 2 });
      });
      afterAll(async () => {
        await dead?.close();
      });

      it('ping rejects with StoreError unavailable', async () => {
        const err = await storeErrorOf(dead.ping());
        expect(err.code).toBe('unavailable');
        // Credentials never travel in the message.
        expect(err.message).not.toContain('pw@');
      });

      it('a repository call rejects with StoreError unavailable', async () => {
        expect((await storeErrorOf(taskGetById(dead, 1))).code).toBe('unavailable');
        expect((await storeErrorOf(taskInsert(dead, taskParams()))).code).toBe('unavailable');
        expect((await storeErrorOf(withTransaction(dead, (trx) => taskGetById(trx, 1)))).code).toBe('unavailable');
      });
    });
  }
});

describe('slots (pure)', () => {
  const d = (iso: string) => new Date(iso);

  describe('every N seconds', () => {
    const every = { every: 60 };

    it('is one interval after the previous slot when that is still ahead', () => {
      expect(nextSlot(every, d('2024-01-01T00:00:00Z'), d('2024-01-01T00:00:30Z'))).toEqual(d('2024-01-01T00:01:00Z'));
    });

    it('is due at once when the next slot is exactly now', () => {
      expect(nextSlot(every, d('2024-01-01T00:00:00Z'), d('2024-01-01T00:01:00Z'))).toEqual(d('2024-01-01T00:01:00Z'));
    });

    it('collapses missed slots into the latest one not after now', () => {
      // Slots at 00:01 … 00:05 were missed; one run, for 00:05.
      expect(nextSlot(every, d('2024-01-01T00:00:00Z'), d('2024-01-01T00:05:30Z'))).toEqual(d('2024-01-01T00:05:00Z'));
      // A day of downtime at a 1 s interval still yields one slot, on the grid.
      const slot = nextSlot({ every: 1 }, d('2024-01-01T00:00:00.250Z'), d('2024-01-02T00:00:00.100Z'));
      expect(slot).toEqual(d('2024-01-01T23:59:59.250Z'));
    });

    it('keeps the grid of the previous slot, including its milliseconds', () => {
      expect(nextSlot({ every: 90 }, d('2024-01-01T00:00:00.123Z'), d('2024-01-01T00:00:00.500Z'))).toEqual(
        d('2024-01-01T00:01:30.123Z'),
      );
    });

    it('firstSlotAfter is one interval after now', () => {
      expect(firstSlotAfter({ every: 90 }, d('2024-01-01T00:00:00.500Z'))).toEqual(d('2024-01-01T00:01:30.500Z'));
    });
  });

  describe('cron', () => {
    it('is the next occurrence after the previous slot when that is still ahead', () => {
      const cron = { cron: '*/5 * * * *' };
      expect(nextSlot(cron, d('2024-01-01T00:00:00Z'), d('2024-01-01T00:01:00Z'))).toEqual(d('2024-01-01T00:05:00Z'));
    });

    it('without tz means UTC', () => {
      expect(firstSlotAfter({ cron: '0 9 * * *' }, d('2024-01-01T00:00:00Z'))).toEqual(d('2024-01-01T09:00:00Z'));
    });

    it('collapses missed occurrences into the latest one not after now', () => {
      const cron = { cron: '*/5 * * * *' };
      expect(nextSlot(cron, d('2024-01-01T00:00:00Z'), d('2024-01-01T00:17:30Z'))).toEqual(d('2024-01-01T00:15:00Z'));
      // An occurrence exactly at now counts as missed and runs now.
      expect(nextSlot(cron, d('2024-01-01T00:00:00Z'), d('2024-01-01T00:15:00Z'))).toEqual(d('2024-01-01T00:15:00Z'));
      expect(nextSlot(cron, d('2024-01-01T00:00:00Z'), d('2024-01-01T00:15:00.999Z'))).toEqual(d('2024-01-01T00:15:00Z'));
    });

    it('reads the line in its time zone (Asia/Tokyo, UTC+9)', () => {
      const tokyo = { cron: '0 9 * * *', tz: 'Asia/Tokyo' };
      // 09:00 in Tokyo is 00:00 UTC.
      expect(firstSlotAfter(tokyo, d('2024-01-01T00:00:00Z'))).toEqual(d('2024-01-02T00:00:00Z'));
      expect(firstSlotAfter(tokyo, d('2023-12-31T23:59:59Z'))).toEqual(d('2024-01-01T00:00:00Z'));
      expect(nextSlot(tokyo, d('2024-01-01T00:00:00Z'), d('2024-01-01T00:00:30Z'))).toEqual(d('2024-01-02T00:00:00Z'));
      // Four days down: one run, for the latest 09:00 Tokyo.
      expect(nextSlot(tokyo, d('2024-01-01T00:00:00Z'), d('2024-01-05T03:00:00Z'))).toEqual(d('2024-01-05T00:00:00Z'));
    });

    it('handles zones with a half-hour offset (Asia/Kolkata, UTC+5:30)', () => {
      const kolkata = { cron: '0 */6 * * *', tz: 'Asia/Kolkata' };
      expect(nextSlot(kolkata, d('2024-01-01T00:30:00Z'), d('2024-01-01T13:00:00Z'))).toEqual(d('2024-01-01T12:30:00Z'));
    });

    it('follows daylight saving time (America/New_York)', () => {
      const ny = { cron: '0 9 * * *', tz: 'America/New_York' };
      // 09:00 EST is 14:00 UTC; after the spring change on 2024-03-10, 09:00 EDT is 13:00 UTC.
      expect(nextSlot(ny, d('2024-03-09T14:00:00Z'), d('2024-03-09T15:00:00Z'))).toEqual(d('2024-03-10T13:00:00Z'));
      expect(nextSlot(ny, d('2024-03-10T13:00:00Z'), d('2024-03-10T15:00:00Z'))).toEqual(d('2024-03-11T13:00:00Z'));
      // And back in the autumn (2024-11-03).
      expect(firstSlotAfter(ny, d('2024-11-02T14:00:00Z'))).toEqual(d('2024-11-03T14:00:00Z'));
    });

    it('runs a local time that occurs twice in the autumn only once', () => {
      const ny = { cron: '30 1 * * *', tz: 'America/New_York' };
      // 01:30 happens at 05:30 UTC (EDT) and again at 06:30 UTC (EST) on 2024-11-03.
      const first = firstSlotAfter(ny, d('2024-11-02T05:30:00Z'));
      expect(first).toEqual(d('2024-11-03T05:30:00Z'));
      const second = firstSlotAfter(ny, first);
      expect(second.getTime()).toBeGreaterThan(d('2024-11-04T00:00:00Z').getTime());
    });

    it('firstSlotAfter is strictly after now, even when now is an occurrence', () => {
      expect(firstSlotAfter({ cron: '*/5 * * * *' }, d('2024-01-01T00:05:00Z'))).toEqual(d('2024-01-01T00:10:00Z'));
    });
  });
});
