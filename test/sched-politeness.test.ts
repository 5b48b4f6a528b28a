import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type VigilChild, childEnv, deleteStreams, insertDueTasks, killAll, spawnVigil, waitReady } from './support/children.js';
import { type TestStore, createTestStore, uniqueName, waitFor } from './support/services.js';

/**
 * Politeness per host (issue 14, item 4): two scheduler processes share 50 `http` tasks on one local host with
 * APP_HOST_CONCURRENCY=2. The target itself counts the requests it has in flight, and never sees more than 2; runs
 * held back are not failed (each slot succeeds on its first attempt) and say so in their output; tasks on another
 * host run at once. Once in stream mode (counted in Redis) and once in polling mode (counted in the database).
 */

const TASKS = 50;
/** How long the target takes to answer each request. */
const ANSWER_MS = 80;

interface Target {
  server: Server;
  port: number;
  served: { path: string; at: number }[];
  inFlight: number;
  maxInFlight: number;
}

async function startTarget(): Promise<Target> {
  const target: Target = { server: createServer(), port: 0, served: [], inFlight: 0, maxInFlight: 0 };
  target.server.on('request', (req, res) => {
    target.inFlight += 1;
    target.maxInFlight = Math.max(target.maxInFlight, target.inFlight);
    setTimeout(() => {
      target.inFlight -= 1;
      target.served.push({ path: req.url ?? '', at: Date.now() });
      res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' }).end('ok');
    }, ANSWER_MS);
  });
  await new Promise<void>((resolve) => target.server.listen(0, '127.0.0.1', resolve));
  target.port = (target.server.address() as AddressInfo).port;
  return target;
}

describe.each<{ mode: string; extra: Record<string, string> }>([
  { mode: 'stream', extra: {} },
  { mode: 'polling', extra: { APP_ENABLE_REDIS_QUEUE: 'false' } },
])('politeness per host across two schedulers ($mode mode)', ({ mode, extra }) => {
  let db: TestStore;
  let busy: Target;
  let other: Target;
  const stream = uniqueName(`vigil_polite_${mode}`);
  const children: VigilChild[] = [];

  beforeAll(async () => {
    db = await createTestStore('mysql', `polite_${mode}`);
    busy = await startTarget();
    other = await startTarget();
  });

  afterAll(async () => {
    await killAll(children);
    await deleteStreams(stream);
    await db?.cleanup();
    for (const t of [busy, other]) if (t !== undefined) await new Promise((resolve) => t.server.close(resolve));
  });

  it('never has more than APP_HOST_CONCURRENCY requests in flight at one host; another host is not held back', { timeout: 120_000 }, async () => {
    const env = childEnv(db.env, stream, {
      APP_HOST_CONCURRENCY: '2',
      APP_HOST_RATE: 'off',
      // Leases of a few seconds, not the fixture's 1.5 s: this test is about the target, not about recovery.
      APP_RECOVERY_TIMEOUT: '10s',
      ...extra,
    });
    for (let i = 0; i < 2; i += 1) children.push(spawnVigil('scheduler', env));
    await Promise.all(children.map((c) => waitReady(c)));
    const wanted = mode === 'stream' ? 'redis_streams' : 'db_polling';
    await Promise.all(children.map((c) => c.waitForLine(new RegExp(`"mode":"${wanted}".*scheduler started`), 10_000)));

    const busySpecs = Array.from({ length: TASKS }, (_, i) => ({ type: 'http', payload: { url: `http://127.0.0.1:${busy.port}/item/${i}` } }));
    const otherSpecs = Array.from({ length: 2 }, (_, i) => ({ type: 'http', payload: { url: `http://127.0.0.1:${other.port}/other/${i}` } }));
    const started = Date.now();
    const { ids: busyIds } = await insertDueTasks(db.store, busySpecs);
    const { ids: otherIds } = await insertDueTasks(db.store, otherSpecs);

    await waitFor(() => busy.served.length >= TASKS && other.served.length >= 2, { timeoutMs: 90_000, message: 'every task served' });
    // Each slot is served once and ends once: held back runs wait, they do not fail or retry.
    const runs = await waitFor(
      async () => {
        const rows = await db.store.db.selectFrom('task_runs').selectAll().where('status', '!=', 'running').execute();
        return rows.length >= TASKS + 2 ? rows : undefined;
      },
      { timeoutMs: 20_000, message: 'every run recorded' },
    );
    const counts = new Map<string, number>();
    for (const s of busy.served) counts.set(s.path, (counts.get(s.path) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1);
    if (twice.length > 0) {
      console.log(JSON.stringify({ twice, served: busy.served.length, runs: runs.filter((r) => busyIds.includes(Number(r.task_id))).length }));
      for (const [path] of twice) {
        const id = busyIds[Number(path.split('/').pop())];
        console.log(JSON.stringify(runs.filter((r) => Number(r.task_id) === id)));
      }
    }
    expect(new Set(busy.served.map((s) => s.path)).size).toBe(TASKS);
    expect(busy.served).toHaveLength(TASKS);
    expect(busy.maxInFlight).toBeLessThanOrEqual(2);
    expect(runs.every((r) => r.status === 'succeeded' && Number(r.attempt) === 1)).toBe(true);
    expect(await db.store.db.selectFrom('dead_letters').selectAll().execute()).toHaveLength(0);

    const busyRuns = runs.filter((r) => busyIds.includes(Number(r.task_id)));
    // Both processes ran the busy host's tasks: the limit held across them, not just within one.
    expect(new Set(busyRuns.map((r) => r.worker.split(':').slice(0, 2).join(':'))).size).toBe(2);
    const heldBack = busyRuns.filter((r) => (JSON.parse(r.output ?? '{}') as { held_back?: unknown }).held_back !== undefined);
    expect(heldBack.length).toBeGreaterThan(TASKS / 2);

    // The other host's tasks were not held back behind the busy one: served long before the busy host's last request.
    const otherRuns = runs.filter((r) => otherIds.includes(Number(r.task_id)));
    expect(otherRuns.every((r) => (JSON.parse(r.output ?? '{}') as { held_back?: unknown }).held_back === undefined)).toBe(true);
    const lastBusy = Math.max(...busy.served.map((s) => s.at));
    const lastOther = Math.max(...other.served.map((s) => s.at));
    // 50 requests, 2 at a time, take at least 25 answer times at the busy host.
    expect(lastBusy - started).toBeGreaterThanOrEqual((TASKS / 2) * ANSWER_MS);
    expect(lastOther).toBeLessThan(lastBusy - 1000);
    if (process.env.VIGIL_TEST_DEBUG !== undefined) {
      console.log(JSON.stringify({ mode, maxInFlight: busy.maxInFlight, heldBack: heldBack.length, busyMs: lastBusy - started, otherMs: lastOther - started }));
    }
  });
});
