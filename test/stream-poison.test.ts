import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueKeys, StreamAdmin, parseEntry } from '../internal/taskqueue/index.js';
import { DEFAULT_GROUP, type SchedFixture, createSchedFixture, pendingCount, postTask, runsOfTask } from './support/sched-fixture.js';
import { type Dialect, waitFor } from './support/services.js';

/**
 * Issue 11, item 2 (G4, G8): an entry naming no task with a slot JavaScript parses but no store holds
 * (`+010000-01-01T00:00:00Z`), beside a malformed batch-mate and a good entry, all read in one batch and reclaimed
 * again and again with a short pending idle. Today the unknown task's dead letter is refused by MariaDB, nothing
 * of the batch is acknowledged, the malformed entry gains a dead letter at every reclaim, and the pending entries
 * stop the trim. Each entry must be settled on its own: exactly one dead letter per bad entry, every entry
 * acknowledged, the good entry's slot run once, and the stream trimmed to nothing.
 */
describe.each<Dialect>(['mysql', 'sqlite'])('poison stream entries (%s)', (dialect) => {
  let fx: SchedFixture;

  beforeAll(async () => {
    fx = await createSchedFixture(`poison_${dialect}`, dialect);
  });

  afterAll(async () => {
    await fx?.cleanup();
  });

  it('makes one dead letter per bad entry whatever the deliveries, acknowledges every entry, and trims', async () => {
    // A first app creates the group and a real task, then stops: the entries below are all read by the next one.
    const first = await fx.startApp('stream');
    const task = await postTask(first.url, { name: 'good', type: 'count', schedule: { every: 3600 } });
    await waitFor(async () => (await runsOfTask(fx.store, task.id))[0]?.status === 'succeeded', { message: 'the good task to run' });
    await waitFor(async () => (await pendingCount(fx.redis, fx.stream)) === 0, { message: 'its entry to be acknowledged' });
    await fx.stopApps();

    const key = new QueueKeys(fx.stream).stream(3);
    const unknown = (await fx.redis.xadd(key, '*', 'task_id', '987654', 'slot', '+010000-01-01T00:00:00Z', 'source', 'api', 'enqueued_at', new Date().toISOString())) as string;
    const malformed = (await fx.redis.xadd(key, '*', 'task_id', 'not-a-number', 'slot', 'tomorrow')) as string;
    // A duplicate entry of the good task (its slot already ran): acknowledged as a duplicate.
    const duplicate = (await fx.redis.xadd(key, '*', 'task_id', String(task.id), 'slot', new Date().toISOString(), 'source', 'periodic')) as string;
    // JavaScript parses the slot; no store holds year 10000: the entry is refused when parsed, not when written.
    expect(Number.isNaN(Date.parse('+010000-01-01T00:00:00Z'))).toBe(false);
    expect(parseEntry(key, unknown, ['task_id', '987654', 'slot', '+010000-01-01T00:00:00Z'])).toMatchObject({ kind: 'malformed' });

    // Pending idle of 300 ms: several reclaim rounds pass while the test watches.
    const second = await fx.startApp('stream', { env: { APP_PENDING_IDLE: '300ms' } });
    const letters = async () =>
      fx.store.db.selectFrom('dead_letters').select(['reason', 'fields', 'error']).orderBy('id').execute();
    await waitFor(async () => (await letters()).length >= 2 && (await pendingCount(fx.redis, fx.stream)) === 0, {
      message: 'both bad entries to be dead-lettered and every entry acknowledged',
    });
    // Redeliver both bad entries by hand as a crashed consumer's reclaim would: still one letter each.
    await fx.redis.xclaim(key, DEFAULT_GROUP, 'ghost', 0, unknown, malformed, 'FORCE');
    await waitFor(async () => (await pendingCount(fx.redis, fx.stream)) === 0, { timeoutMs: 15_000, message: 'the redelivered entries to be settled again' });
    // Three reclaim rounds at least.
    await new Promise((resolve) => setTimeout(resolve, 1200));

    const all = await letters();
    expect(all).toHaveLength(2);
    const byId = new Map(all.map((l) => [String((JSON.parse(l.fields) as Record<string, unknown>)._id), l]));
    expect(byId.get(unknown)).toMatchObject({ reason: 'malformed', error: expect.stringMatching(/years 1970 to 9999/) });
    expect(byId.get(malformed)).toMatchObject({ reason: 'malformed' });
    expect(byId.has(duplicate)).toBe(false);
    expect(await runsOfTask(fx.store, task.id)).toHaveLength(1);

    // Nothing pending pins the trim: every entry goes.
    const admin = new StreamAdmin({ redis: fx.redis, keys: new QueueKeys(fx.stream), group: DEFAULT_GROUP });
    await admin.trim();
    expect(await fx.redis.xlen(key)).toBe(0);

    // Issue 11, item 6: GET /queue lists groups other than this one and how far they hold the stream.
    await fx.redis.xgroup('CREATE', key, 'renamed_away', '0');
    await fx.redis.xadd(key, '*', 'task_id', '1', 'slot', new Date().toISOString());
    const queue = (await (await fetch(`${second.url}/queue`)).json()) as { streams: { stream: string; foreign_groups: unknown[] }[] };
    expect(queue.streams.find((s) => s.stream === key)?.foreign_groups).toEqual([
      { name: 'renamed_away', consumers: 0, pending: 0, lag: expect.any(Number), idle_ms: null, holds_trim: true, holds_from_id: '0-1', holds_from_age_ms: expect.any(Number) },
    ]);
  });
});
