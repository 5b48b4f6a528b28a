import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClaimedSlot,
  type JsonObject,
  type Store,
  channelDelete,
  channelIdsExisting,
  channelInsert,
  channelUsers,
  notificationClaimDue,
  notificationListByTask,
  runListByTask,
  runStartMany,
  slotClaimDue,
  slotCompleteMany,
  taskGetById,
  taskInsert,
  taskUpdate,
} from '../internal/store/index.js';
import { type Dialect, type TestStore, createTestStore } from './support/services.js';

/**
 * The store's side of alerts, on both dialects: the alert state of several tasks moved by one batched completion
 * (each task's own, never mixed up), fenced by the lease, the outbox rows per channel and webhook, the claim that
 * hands channels to the notifier, and the channel queries behind the API.
 */

const T0 = new Date('2031-05-06T07:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const retryDelayMs = () => 1000;

describe.each<Dialect>(['mysql', 'sqlite'])('alert state in the store (%s)', (dialect) => {
  let ts: TestStore;
  let store: Store;
  let seq = 0;

  beforeAll(async () => {
    ts = await createTestStore(dialect, `store_alerts_${dialect}`);
    store = ts.store;
  });
  afterAll(async () => {
    await ts?.cleanup();
  });

  async function task(type: string, notify: JsonObject | null, payload: JsonObject = { url: 'https://shop.example/health' }) {
    seq += 1;
    return taskInsert(store, {
      name: `alert ${seq}`,
      type,
      payload,
      schedule: { every: 10 },
      priority: 3,
      timeoutMs: 1000,
      maxAttempts: 3,
      status: 'running',
      notify,
      nextRunAt: T0,
      queuedUntil: null,
      idempotencyKey: null,
      requestHash: null,
      now: T0,
    });
  }

  /** Claims every due task of `type` at `now`, starts them, and completes them in ONE batch with these results. */
  async function round(type: string, now: Date, results: Map<number, { up?: boolean; events?: string[] }>) {
    const claims = await slotClaimDue(store, { workerId: 'w', leaseToken: `t-${type}-${now.getTime()}`, leaseMs: 60_000, now, typePatterns: [type], limit: 50, channel: 'poll' });
    const started = await runStartMany(store, { claims, workerId: 'w', now });
    const items = claims.map((claim: ClaimedSlot) => {
      const r = results.get(claim.task.id) ?? {};
      return {
        claim,
        runId: started.get(claim) as number,
        result: { status: 'succeeded' as const, output: { ...r }, error: null, startedAt: now, durationMs: 5 },
        effects: { ...(r.up === undefined ? {} : { up: r.up }), ...(r.events === undefined ? {} : { events: r.events }) },
      };
    });
    return slotCompleteMany(store, { items, now, retryDelayMs });
  }

  it('moves the alert state of each task of one batch on its own', async () => {
    const channel = await channelInsert(store, { name: `ch-${dialect}`, kind: 'ntfy', config: { topic: 'a', token: 'tk_x' }, now: T0 });
    const type = `alerts_batch_${dialect}`;
    const strict = await task(type, { channels: [channel.id], on: ['down', 'up'], down_after: 2, remind_every: '15s' });
    const eager = await task(type, { webhook_url: 'https://hooks.example/x', channels: [channel.id], on: ['down', 'up', 'changed'] });
    const silent = await task(type, null);

    // Every task is down in each of three rounds (10 s apart); the eager one also reports a change in round 1.
    const down = (extra: string[] = []) => ({ up: false, events: ['down', ...extra] });
    await round(type, at(0), new Map([[strict.id, down()], [eager.id, down(['changed'])], [silent.id, down()]]));
    await round(type, at(10_000), new Map([[strict.id, down()], [eager.id, down()], [silent.id, down()]]));
    await round(type, at(20_000), new Map([[strict.id, down()], [eager.id, down()], [silent.id, down()]]));

    const row = async (id: number) => store.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const strictRow = await row(strict.id);
    expect(Number(strictRow.alert_streak)).toBe(3);
    expect(Number(strictRow.up)).toBe(0);
    expect(new Date(strictRow.alert_down_since as Date).toISOString()).toBe(at(10_000).toISOString());
    expect((await row(eager.id)).alert_down_since).not.toBeNull();
    expect(Number((await row(silent.id)).alert_streak)).toBe(3);

    const events = async (id: number) => (await notificationListByTask(store, { taskId: id, limit: 50 })).items.reverse();
    // strict: down confirmed in round 2 (one channel); its reminder is due 15 s later, not yet in round 3.
    expect((await events(strict.id)).map((n) => [n.event, n.channel?.id ?? null])).toEqual([['down', channel.id]]);
    // eager: down and changed in round 1, to its webhook_url and its channel.
    const eagerNotes = await events(eager.id);
    expect(eagerNotes.map((n) => [n.event, n.channel === null ? 'webhook_url' : n.channel.kind])).toEqual([
      ['down', 'webhook_url'],
      ['down', 'ntfy'],
      ['changed', 'webhook_url'],
      ['changed', 'ntfy'],
    ]);
    expect(eagerNotes[0]?.url).toBe('https://hooks.example/x');
    expect(eagerNotes[0]?.body).toMatchObject({ task_id: eager.id, name: eager.name, event: 'down', target: 'https://shop.example/health' });
    expect(await events(silent.id)).toEqual([]);

    const runs = async (id: number) => (await runListByTask(store, { taskId: id, limit: 10 })).items.reverse().map((r) => (r.output as { alert: unknown }).alert);
    expect(await runs(strict.id)).toEqual([
      { state: null, streak: 1, notification: 'suppressed' },
      { state: 'down', streak: 2, notification: 'sent', events: ['down'], down_since: at(10_000).toISOString() },
      { state: 'down', streak: 3, notification: 'none', down_since: at(10_000).toISOString() },
    ]);
    expect((await runs(silent.id))[0]).toEqual({ state: 'down', streak: 1, notification: 'none', down_since: at(0).toISOString() });

    // Round 4 (25 s after the down): the strict task's reminder; then up again for every task.
    const last = new Map<number, { up?: boolean; events?: string[] }>([
      [strict.id, down()],
      [eager.id, { up: true, events: ['up'] }],
      [silent.id, { up: true }],
    ]);
    await round(type, at(30_000), last);
    expect((await events(strict.id)).map((n) => (n.body.output as { alert: { reminder?: number } }).alert.reminder)).toEqual([undefined, 1]);
    expect((await events(eager.id)).slice(4).map((n) => n.event)).toEqual(['up', 'up']);
    expect((await taskGetById(store, eager.id))?.up).toBe(true);
    expect((await taskGetById(store, silent.id))?.up).toBe(true);
  });

  it('writes nothing for an outcome whose lease is lost', async () => {
    const type = `alerts_lost_${dialect}`;
    const t = await task(type, { webhook_url: 'https://hooks.example/y' });
    const claims = await slotClaimDue(store, { workerId: 'w', leaseToken: 'lost-1', leaseMs: 60_000, now: T0, typePatterns: [type], limit: 5, channel: 'poll' });
    const started = await runStartMany(store, { claims, workerId: 'w', now: T0 });
    await store.db.updateTable('tasks').set({ lease_token: 'someone-else' }).where('id', '=', t.id).execute();
    const [claim] = claims as [ClaimedSlot];
    const [completion] = await slotCompleteMany(store, {
      now: T0,
      retryDelayMs,
      items: [{ claim, runId: started.get(claim) as number, result: { status: 'succeeded', output: { up: false }, error: null, startedAt: T0, durationMs: 1 }, effects: { up: false } }],
    });
    expect(completion).toEqual({ kind: 'lease_lost' });
    const stored = await store.db.selectFrom('tasks').selectAll().where('id', '=', t.id).executeTakeFirstOrThrow();
    expect(Number(stored.alert_streak)).toBe(0);
    expect(stored.up).toBeNull();
    expect((await notificationListByTask(store, { taskId: t.id, limit: 5 })).items).toEqual([]);
  });

  it('hands each claimed notification its channel, and no channel once it is deleted', async () => {
    const channel = await channelInsert(store, { name: `claim-${dialect}`, kind: 'slack', config: { webhook_url: 'https://hooks.slack.com/services/z' }, now: T0 });
    const type = `alerts_claim_${dialect}`;
    const t = await task(type, { channels: [channel.id], webhook_url: 'https://hooks.example/z' });
    await round(type, at(0), new Map([[t.id, { up: false }]]));
    const claimed = (await notificationClaimDue(store, { now: at(1000), limit: 50, leaseMs: 10_000 })).filter((n) => n.taskId === t.id);
    expect(claimed.map((n) => n.channel)).toEqual([null, { id: channel.id, name: channel.name, kind: 'slack', config: { webhook_url: 'https://hooks.slack.com/services/z' } }]);
    expect(claimed[0]?.url).toBe('https://hooks.example/z');

    expect(await channelUsers(store, channel.id)).toEqual([t.id]);
    expect([...(await channelIdsExisting(store, [channel.id, 999_999]))]).toEqual([channel.id]);
    await taskUpdate(store, { id: t.id, changes: { notify: null, silencedUntil: at(5000) }, now: at(2000) });
    expect((await taskGetById(store, t.id))?.silencedUntil).toEqual(at(5000));
    expect(await channelUsers(store, channel.id)).toEqual([]);
    expect(await channelDelete(store, channel.id)).toBe(true);
    // Its notification (claimed above, lease passed) now has no channel to go to; the history still names its id.
    const again = (await notificationClaimDue(store, { now: at(60_000), limit: 50, leaseMs: 10_000 })).filter((n) => n.taskId === t.id);
    expect(again.find((n) => n.channelId === channel.id)?.channel).toBeNull();
    const listed = (await notificationListByTask(store, { taskId: t.id, limit: 5 })).items;
    expect(listed.map((n) => n.channel)).toContainEqual({ id: channel.id, name: null, kind: null });
  });
});
