import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Store,
  notificationClaimDue,
  notificationInsert,
  notificationListByTask,
  notificationRecordAttempt,
} from '../internal/store/index.js';
import { insertTask } from '../internal/scheduler/test-support.js';
import { type Dialect, type TestStore, createTestStore } from './support/services.js';
import { startTestApp } from './support/test-app.js';

/**
 * Issue 11, item 7: the smaller ones. Notification deliveries are fenced by their lease as runs are; SQLite commits
 * with synchronous=FULL; labelled counters have a zero sample for every known label value from the start.
 */
describe.each<Dialect>(['mysql', 'sqlite'])('notification delivery lease (%s)', (dialect) => {
  let ts: TestStore;
  let store: Store;

  beforeAll(async () => {
    ts = await createTestStore(dialect, 'notify_fence');
    store = ts.store;
  });

  afterAll(async () => {
    await ts?.cleanup();
  });

  it('records an attempt only while its lease holds: a late record changes nothing', async () => {
    const t0 = new Date('2030-01-01T00:00:00.000Z');
    const at = (ms: number) => new Date(t0.getTime() + ms);
    const task = await insertTask(store, t0, { name: 'fenced' });
    await notificationInsert(store, {
      drafts: [{ taskId: task.id, runId: null, channelId: null, event: 'down', url: 'https://hooks.example/vigil', body: { event: 'down' } }],
      now: t0,
    });
    // A claims it with a short lease, and is slow: the lease passes and B claims the same attempt.
    const [a] = await notificationClaimDue(store, { now: at(0), limit: 10, leaseMs: 100 });
    expect(await notificationClaimDue(store, { now: at(50), limit: 10, leaseMs: 100 })).toEqual([]);
    const [b] = await notificationClaimDue(store, { now: at(200), limit: 10, leaseMs: 10_000 });
    if (a === undefined || b === undefined) throw new Error('not claimed');
    expect(b.attempt).toBe(a.attempt);

    const record = (n: typeof a, ok: boolean, error: string | null) =>
      notificationRecordAttempt(store, { notification: n, ok, statusCode: ok ? 200 : 500, error, durationMs: 5, now: at(300), retryAt: ok ? null : at(5000) });
    expect(await record(b, true, null)).toBe(true);
    // A's record arrives last: its lease is gone, so it neither adds a second attempt 1 nor undoes B's delivery.
    expect(await record(a, false, 'late failure')).toBe(false);
    const [listed] = (await notificationListByTask(store, { taskId: task.id, limit: 10 })).items;
    expect(listed).toMatchObject({ status: 'delivered', lastError: null });
    expect(listed?.attempts.map((x) => [x.attempt, x.statusCode])).toEqual([[1, 200]]);
    // Delivered: nobody claims it again.
    expect(await notificationClaimDue(store, { now: at(60_000), limit: 10, leaseMs: 100 })).toEqual([]);
  });
});

describe('store settings', () => {
  it('commits SQLite with synchronous=FULL, so that a 201 survives a power loss (G1)', async () => {
    const ts = await createTestStore('sqlite', 'sync_full');
    try {
      const { rows } = await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(ts.store.db);
      // 2 = FULL (1 would be NORMAL).
      expect(rows[0]?.synchronous).toBe(2);
    } finally {
      await ts.cleanup();
    }
  });
});

describe('labelled counters before their first event', () => {
  it('/metrics shows a zero sample for every known task type and channel kind', async () => {
    const ts = await createTestStore('sqlite', 'metrics_zero');
    const { app, url } = await startTestApp({ storeEnv: ts.env, env: { APP_RUN_SCHEDULER: 'false' } });
    try {
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(text).toMatch(/^vigil_retries_total\{type="noop"\} 0$/m);
      expect(text).toMatch(/^vigil_retries_total\{type="http"\} 0$/m);
      expect(text).toMatch(/^vigil_runs_total\{type="noop",outcome="succeeded"\} 0$/m);
      expect(text).toMatch(/^vigil_runs_total\{type="count",outcome="timed_out"\} 0$/m);
      expect(text).toMatch(/^vigil_notification_attempts_total\{kind="webhook",outcome="delivered"\} 0$/m);
      expect(text).toMatch(/^vigil_notification_attempts_total\{kind="slack",outcome="failed"\} 0$/m);
    } finally {
      await app.stop();
      await ts.cleanup();
    }
  });
});
