import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../internal/platform/logger.js';
import { QueueKeys, StreamAdmin, StreamConsumer, TaskProducer } from '../internal/taskqueue/index.js';
import { REDIS_ADDR, uniqueName, waitFor } from './support/services.js';

/** G4 at the Redis level: trimming under a backlog never removes a pending or unread entry. */
describe('stream trimming and consumer cleanup', () => {
  const [host, port] = REDIS_ADDR.split(':');
  const redis = new Redis({ host, port: Number(port) });
  const keys = new QueueKeys(uniqueName('trim'));
  const stream = keys.stream(3);
  const group = 'scheduler_group';
  const admin = new StreamAdmin({ redis, keys, group });
  const consumer = (name: string) =>
    new StreamConsumer({ redis, blockingRedis: redis, keys, group, consumer: name, logger: silentLogger() });
  const producer = new TaskProducer({ redis, keys });
  const ids = async () => ((await redis.xrange(stream, '-', '+')) as [string, string[]][]).map(([id]) => id);

  beforeAll(async () => {
    await consumer('a').ensureGroups();
    await producer.publish(
      Array.from({ length: 100 }, (_, i) => ({ taskId: i + 1, priority: 3, slot: new Date(), source: 'periodic' })),
    );
  });

  afterAll(async () => {
    await redis.del(...keys.streams());
    redis.disconnect();
  });

  it('removes only entries every group has read and acknowledged', async () => {
    const a = consumer('a');
    const delivered = await a.read(40);
    expect(delivered).toHaveLength(40);
    await a.ack(delivered.slice(0, 10));
    const pending = delivered.slice(10).map((e) => e.id);
    const all = await ids();
    const unread = all.slice(40);

    expect(await admin.trim()).toBe(10);
    const kept = await ids();
    expect(kept).toHaveLength(90);
    for (const id of [...pending, ...unread]) expect(kept).toContain(id);

    // Trimming again changes nothing: the oldest pending entry is where the stream now starts.
    expect(await admin.trim()).toBe(0);

    // Acknowledging an entry in the middle does not let trimming skip past an older pending one.
    await a.ack(delivered.slice(20, 21));
    expect(await admin.trim()).toBe(0);

    await a.ack(delivered.slice(10));
    expect(await admin.trim()).toBe(30);
    expect(await ids()).toEqual(unread);
  });

  it('keeps everything a lagging second group has not read yet', async () => {
    await redis.xgroup('CREATE', stream, 'lagging', '0');
    const before = await ids();
    const a = consumer('a');
    await a.ack(await a.read(20));
    expect(await admin.trim()).toBe(0);
    expect(await ids()).toEqual(before);
    await redis.xgroup('DESTROY', stream, 'lagging');
    expect(await admin.trim()).toBe(20);
  });

  it('removes idle consumers with nothing pending, and keeps one that holds entries', async () => {
    const holder = consumer('holder');
    expect(await holder.read(1)).toHaveLength(1);
    await consumer('idle').read(0);
    await redis.xgroup('CREATECONSUMER', stream, group, 'idle');
    const removed = await admin.removeIdleConsumers(0);
    expect(removed).toContain(`${stream}/idle`);
    expect(removed).toContain(`${stream}/a`);
    expect(removed).not.toContain(`${stream}/holder`);
    const left = ((await redis.xinfo('CONSUMERS', stream, group)) as unknown[][]).map((c) => String(c[1]));
    expect(left).toEqual(['holder']);
  });
});

/**
 * Issue 11, item 6: another group no longer stops trimming for good. A group whose consumers are all silent past
 * the idle limit (left behind by a renamed APP_TASK_QUEUE_GROUP) is ignored; a live one is honoured; and whatever
 * other groups hold, or a stream no group reads, is bounded by a length cap. This group's pending and unread
 * entries are never removed.
 */
describe('trimming beside other groups, and without any', () => {
  const [host, port] = REDIS_ADDR.split(':');
  const redis = new Redis({ host, port: Number(port) });
  const keys = new QueueKeys(uniqueName('trim_foreign'));
  const stream = keys.stream(3);
  const group = 'scheduler_group';
  const consumer = (name: string, g = group) =>
    new StreamConsumer({ redis, blockingRedis: redis, keys, group: g, consumer: name, logger: silentLogger() });
  const producer = new TaskProducer({ redis, keys });
  const ids = async (key = stream) => ((await redis.xrange(key, '-', '+')) as [string, string[]][]).map(([id]) => id);
  const publish = (n: number, k = keys) =>
    new TaskProducer({ redis, keys: k }).publish(
      Array.from({ length: n }, (_, i) => ({ taskId: i + 1, priority: 3, slot: new Date(), source: 'periodic' })),
    );

  afterAll(async () => {
    await redis.del(...keys.streams());
    redis.disconnect();
  });

  it('ignores a group whose consumers went silent, honours a live one, and never passes its own group', async () => {
    await consumer('a').ensureGroups();
    await consumer('old', 'renamed_away').ensureGroups();
    await producer.publish(Array.from({ length: 30 }, (_, i) => ({ taskId: i + 1, priority: 3, slot: new Date(), source: 'periodic' })));
    // The old group read 5 entries and never acknowledged them; then its processes went away.
    expect(await consumer('old', 'renamed_away').read(5)).toHaveLength(5);
    const a = consumer('a');
    const delivered = await a.read(20);
    await a.ack(delivered.slice(0, 15));
    const all = await ids();
    const stillNeeded = all.slice(15);

    // While the old group's consumer counts as alive it holds the stream from its oldest pending entry.
    const patient = new StreamAdmin({ redis, keys, group, trim: { foreignIdleMs: 3_600_000 } });
    expect(await patient.trim()).toBe(0);
    const [stats] = (await patient.stats()).filter((s) => s.stream === stream);
    expect(stats?.foreignGroups).toEqual([
      expect.objectContaining({ name: 'renamed_away', consumers: 1, pending: 5, holdsTrim: true, holdsFromId: all[0] }),
    ]);

    // Once its consumers have been silent past the limit it is ignored: trimming reaches this group's own point.
    await waitFor(async () => {
      const consumers = (await redis.xinfo('CONSUMERS', stream, 'renamed_away')) as unknown[][];
      return consumers.every((c) => Number(c[c.indexOf('idle') + 1]) >= 200);
    });
    const brisk = new StreamAdmin({ redis, keys, group, trim: { foreignIdleMs: 200 } });
    expect((await brisk.stats()).find((s) => s.stream === stream)?.foreignGroups[0]?.holdsTrim).toBe(false);
    expect(await brisk.trim()).toBe(15);
    expect(await ids()).toEqual(stillNeeded);
  });

  it('bounds what other groups hold, and a stream no group reads, to the newest entries', async () => {
    const lonely = new QueueKeys(uniqueName('trim_nogroup'));
    try {
      await publish(50, lonely);
      const all = await ids(lonely.stream(3));
      const admin = new StreamAdmin({ redis, keys: lonely, group, trim: { keepForOthers: 10 } });
      expect(await admin.trim()).toBe(40);
      expect(await ids(lonely.stream(3))).toEqual(all.slice(40));

      // A live foreign group that read nothing is held to the same bound; this group's unread entries are not.
      await redis.xgroup('CREATE', lonely.stream(3), 'other', '0');
      await publish(20, lonely);
      expect(await admin.trim()).toBe(20);
      await redis.xgroup('CREATE', lonely.stream(3), group, '0');
      await publish(20, lonely);
      expect(await admin.trim()).toBe(0);
      expect(await redis.xlen(lonely.stream(3))).toBe(30);
    } finally {
      await redis.del(...lonely.streams());
    }
  });
});
