import { once } from 'node:events';
import type { Server } from 'node:http';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp, errorBodySchema, pollingDispatcher, storeHealthSource } from '../internal/api/index.js';
import { HandlerRegistry, noopType } from '../internal/handlers/index.js';
import { silentLogger } from '../internal/platform/logger.js';
import { Metrics } from '../internal/platform/metrics.js';
import { jitterOffsetMs } from '../internal/store/index.js';
import { testChannelSender } from './support/channel-sender.js';
import { pollingQueueSource } from './support/queue.js';
import { type Dialect, type TestStore, createTestStore } from './support/services.js';

/**
 * `schedule.jitter` and `schedule.catch_up` at the API (issue 14, items 5 and 6): refused with the field named,
 * stored and shown as written, and the jitter visible in `next_run_at` and `next_runs`.
 */

const T0 = Date.parse('2026-03-01T12:00:00.000Z');

describe.each<Dialect>(['mysql', 'sqlite'])('schedule options on %s', (dialect) => {
  let testStore: TestStore;
  let server: Server;
  let api: ReturnType<typeof request>;
  const clock = { current: T0, now(): number { return this.current; } };

  beforeAll(async () => {
    testStore = await createTestStore(dialect, 'api_schedule_options');
    const app = createApiApp({
      store: testStore.store,
      queue: pollingQueueSource(testStore.store, clock),
      registry: new HandlerRegistry().register(noopType),
      dispatcher: pollingDispatcher,
      health: storeHealthSource(testStore.store),
      logger: silentLogger(),
      metrics: new Metrics({ defaultMetrics: false }),
      clock,
      channelSender: testChannelSender(),
      apiTokens: [],
    });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    api = request(server);
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await testStore?.cleanup();
  });

  it.each([
    [{ every: 60, jitter: -1 }, 'schedule.jitter'],
    [{ every: 60, jitter: 1.5 }, 'schedule.jitter'],
    [{ every: 60, jitter: 61 }, 'schedule.jitter'],
    [{ cron: '*/5 * * * *', jitter: 86_401 }, 'schedule.jitter'],
    [{ every: 60, catch_up: 'all' }, 'schedule.catch_up'],
    [{ every: 60, catch_up: { window: 'soon' } }, 'schedule.catch_up.window'],
    [{ every: 60, catch_up: { window: '31d' } }, 'schedule.catch_up.window'],
    [{ every: 60, catch_up: { window: '1h', extra: 1 } }, 'schedule.catch_up.extra'],
  ])('refuses %j, naming %s', async (schedule, field) => {
    const res = await api.post('/tasks').send({ name: 'bad', type: 'noop', schedule });
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(Object.keys(errorBodySchema.parse(res.body).error.fields ?? {})).toContain(field);
  });

  it('stores jitter and catch-up as written, and shows the jitter in next_runs and next_run_at', async () => {
    const schedule = { every: 60, jitter: 30, catch_up: { window: '1h' } };
    const created = await api.post('/tasks').send({ name: 'jittered', type: 'noop', schedule });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.schedule).toEqual(schedule);
    const id = Number(created.body.id);
    const offset = jitterOffsetMs(id, 30);
    expect(offset).toBeLessThan(30_000);

    const read = await api.get(`/tasks/${id}`);
    const nextRuns = (read.body.next_runs as string[]).map((t) => Date.parse(t));
    // The first slot is now (a new task runs at once); the ones after sit on the minute plus the task's offset.
    expect(nextRuns[0]).toBe(T0);
    for (const slot of nextRuns.slice(1)) expect(slot % 60_000).toBe(offset);
    expect((nextRuns[2] as number) - (nextRuns[1] as number)).toBe(60_000);

    // A changed schedule starts its cycle at the first jittered slot after now.
    clock.current = T0 + 5000;
    const patched = await api.patch(`/tasks/${id}`).send({ schedule: { every: 120, jitter: 90, catch_up: 'skip' } });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body.schedule).toEqual({ every: 120, jitter: 90, catch_up: 'skip' });
    const next = Date.parse(patched.body.next_run_at as string);
    expect(next).toBeGreaterThan(clock.current);
    expect(next % 120_000).toBe(jitterOffsetMs(id, 90));
  });
});
