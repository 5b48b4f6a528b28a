import { describe, expect, it } from 'vitest';
import { ManualClock } from '../platform/clock.js';
import { taskGetById } from '../store/index.js';
import { PeriodicPublisher } from './periodic-publisher.js';
import { FakeBroker, FakeHealth, insertTask, quiet, useMemoryStore, redisDown } from './test-support.js';

describe('PeriodicPublisher', () => {
  const clock = new ManualClock();

  const db = useMemoryStore();

  function publisher(broker: FakeBroker, health = new FakeHealth(), batchSize = 2) {
    return new PeriodicPublisher({ store: db.store, broker, health, clock, logger: quiet.logger }, { intervalMs: 1000, batchSize, queueMarkMs: 5000 });
  }

  it('publishes each due slot once, in pages, and marks it queued until the mark passes', async () => {
    const now = new Date(clock.now());
    const due = [];
    for (let i = 0; i < 5; i += 1) due.push(await insertTask(db.store, now, { priority: 1 + i }));
    const later = await insertTask(db.store, new Date(clock.now() + 60_000));
    const broker = new FakeBroker(() => clock.now());

    expect(await publisher(broker).runOnce()).toBe(5);
    expect(broker.entries.map((e) => e.fields[1])).toEqual(due.map((t) => String(t.id)).reverse());
    expect(broker.entries[0]?.stream).toBe(broker.keys.stream(5));
    expect(await taskGetById(db.store, later.id)).toMatchObject({ nextRunAt: later.nextRunAt });

    // Marked: the next tick publishes nothing, until the mark passes (the entry was lost, say).
    expect(await publisher(broker).runOnce()).toBe(0);
    clock.advance(5000);
    expect(await publisher(broker).runOnce()).toBe(5);
  });

  it('unmarks what it could not publish and tells the health, so the next tick or the poller takes it at once', async () => {
    clock.advance(120_000);
    const task = await insertTask(db.store, new Date(clock.now()), { type: 'pub_fail' });
    const broker = new FakeBroker(() => clock.now());
    broker.failing = redisDown();
    const health = new FakeHealth();
    await expect(publisher(broker, health, 100).runOnce()).rejects.toThrow('redis unavailable');
    expect(health.reports).toEqual(['publisher:failed']);
    const row = await db.store.db.selectFrom('tasks').select('queued_until').where('id', '=', task.id).executeTakeFirstOrThrow();
    expect(row.queued_until).toBeNull();

    broker.failing = undefined;
    expect(await publisher(broker, health, 100).runOnce()).toBeGreaterThan(0);
    expect(health.reports.at(-1)).toBe('publisher:ok');
  });
});
