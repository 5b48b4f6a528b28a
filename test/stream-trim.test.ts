import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../internal/platform/logger.js';
import { QueueKeys, StreamAdmin, StreamConsumer, TaskProducer } from '../internal/taskqueue/index.js';
import { REDIS_ADDR, uniqueName } from './support/services.js';

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
