import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { App } from '../internal/app/index.js';
import { defineTaskType } from '../internal/handlers/index.js';
import {
  type SchedFixture,
  countRuns,
  createSchedFixture,
  holdsFor,
  ms,
  pendingCount,
  postTask,
  runsOfTask,
} from './support/sched-fixture.js';
import { waitFor } from './support/services.js';
import { type TcpProxy, startTcpProxy } from './support/tcp-proxy.js';
import { startTestApp } from './support/test-app.js';
import { testRegistry } from './support/test-types.js';

/**
 * G6 in the scheduler (stream mode): the store goes away (a TCP proxy between the app and MySQL is cut) while
 * runs are in flight. Their outcomes cannot be recorded, so their entries stay pending: nothing is acknowledged
 * without a recorded outcome. When the store comes back, every slot gets its outcome, the entries are
 * acknowledged, and new work runs, with no restart.
 *
 * The tests read the database directly (not through the proxy), so they can watch during the outage.
 */

const TASKS = 4;
const RUN_MS = 700;

interface OutageHarness {
  fx: SchedFixture;
  proxy: TcpProxy;
  app: App;
  url: string;
  /** Ids of tasks whose handler has returned at least once. */
  finished: Set<number>;
  close(): Promise<void>;
}

/** An app in stream mode whose store is reached through a proxy the test can cut. */
async function startOutageHarness(label: string, env: Record<string, string>): Promise<OutageHarness> {
  const fx = await createSchedFixture(label);
  const direct = new URL(fx.ts.env.MYSQL_DSN as string);
  const proxy = await startTcpProxy(direct.hostname, direct.port === '' ? 3306 : Number(direct.port));
  const proxied = new URL(direct);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  const finished = new Set<number>();
  // A sleep that reports when its handler has returned, so the test knows an outcome is waiting to be recorded.
  const registry = testRegistry().register(
    defineTaskType({
      name: 'tracked_sleep',
      payloadSchema: z.object({ ms: z.number().int().min(0) }).strict(),
      run: async (payload, ctx) => {
        await new Promise((resolve) => setTimeout(resolve, payload.ms));
        finished.add(ctx.task.id);
        return { slept: payload.ms };
      },
    }),
  );
  const { app, url } = await startTestApp({ storeEnv: { MYSQL_DSN: proxied.toString() }, stream: fx.stream, registry, env });
  return {
    fx,
    proxy,
    app,
    url,
    finished,
    async close() {
      proxy.unblock();
      await app.stop();
      await proxy.close();
      await fx.cleanup();
    },
  };
}

/** Creates the tasks, waits until all run, and cuts the store; resolves once every handler has returned. */
async function cutStoreMidRun(h: OutageHarness): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < TASKS; i += 1) {
    const created = await postTask(h.url, { name: `outage ${i}`, type: 'tracked_sleep', payload: { ms: RUN_MS }, schedule: { every: 3600 } });
    expect(created.queued_via).toBe('stream');
    ids.push(created.id);
  }
  await waitFor(async () => (await countRuns(h.fx.store, { status: 'running', taskIds: ids })) === TASKS, {
    message: 'every run to start',
  });
  await h.proxy.block();
  await waitFor(() => ids.every((id) => h.finished.has(id)), { message: 'every handler to return' });
  return ids;
}

async function nothingAcknowledgedUnrecorded(h: OutageHarness, ids: number[], forMs: number): Promise<void> {
  await holdsFor(
    async () =>
      (await pendingCount(h.fx.redis, h.fx.stream)) === TASKS &&
      (await countRuns(h.fx.store, { status: 'running', taskIds: ids })) === TASKS,
    forMs,
    'every entry stays pending and every run unrecorded while the store is down',
  );
}

async function stillServes(h: OutageHarness): Promise<void> {
  await waitFor(async () => (await fetch(`${h.url}/readyz`)).status === 200, { message: 'the API to be ready again' });
  const after = await postTask(h.url, { name: 'after the outage', type: 'count', schedule: { every: 3600 } });
  const runs = await waitFor(async () => {
    const all = await runsOfTask(h.fx.store, after.id);
    return all[0]?.status === 'succeeded' ? all : undefined;
  }, { timeoutMs: 15_000, message: 'a task created after the outage to run' });
  expect(runs).toHaveLength(1);
  await waitFor(async () => (await pendingCount(h.fx.redis, h.fx.stream)) === 0, { message: 'no pending entries' });
}

describe('MySQL outage shorter than a lease (stream mode)', () => {
  let h: OutageHarness;

  beforeAll(async () => {
    // Leases (half the recovery timeout) outlast the outage: the runs' own executors record them afterwards.
    h = await startOutageHarness('mysql_outage_short', { APP_RECOVERY_TIMEOUT: '20s' });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('leaves unrecorded runs pending while the store is down, then records and acknowledges them all', async () => {
    const ids = await cutStoreMidRun(h);
    await nothingAcknowledgedUnrecorded(h, ids, 1000);

    h.proxy.unblock();
    await waitFor(async () => (await countRuns(h.fx.store, { status: 'succeeded', taskIds: ids })) === TASKS, {
      timeoutMs: 20_000,
      message: 'every outcome to be recorded',
    });
    await waitFor(async () => (await pendingCount(h.fx.redis, h.fx.stream)) === 0, { message: 'every entry to be acknowledged' });
    for (const id of ids) {
      const runs = await runsOfTask(h.fx.store, id);
      // Recorded by the executor that ran it: one attempt, not a recovery re-run.
      expect(runs.map((r) => [r.attempt, r.status, r.source])).toEqual([[1, 'succeeded', 'api']]);
      expect(Number(runs[0]?.duration_ms)).toBeGreaterThanOrEqual(RUN_MS);
    }
    await stillServes(h);
  });
});

describe('MySQL outage longer than a lease (stream mode)', () => {
  let h: OutageHarness;

  beforeAll(async () => {
    // The test timings: 2 s recovery timeout, so 1 s leases, which the outage below outlasts.
    h = await startOutageHarness('mysql_outage_long', { APP_RECOVERY_TIMEOUT: '2s' });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('keeps entries pending without spinning, and gives every slot one outcome once the store is back', async () => {
    const ids = await cutStoreMidRun(h);
    const cpuBefore = process.cpuUsage();
    const wallBefore = Date.now();
    await nothingAcknowledgedUnrecorded(h, ids, 2500);
    // Retrying against a dead store backs off: the process is nearly idle, not spinning through reconnects.
    const cpu = process.cpuUsage(cpuBefore);
    const busy = (cpu.user + cpu.system) / 1000 / (Date.now() - wallBefore);
    expect(busy, 'share of one core used while the store is down').toBeLessThan(0.4);

    h.proxy.unblock();
    const settled = await waitFor(async () => {
      const all = await Promise.all(ids.map((id) => runsOfTask(h.fx.store, id)));
      return all.every((runs) => runs.length > 0 && runs.every((r) => r.status !== 'running') && runs.at(-1)?.status === 'succeeded')
        ? all
        : undefined;
    }, { timeoutMs: 20_000, message: 'every slot to reach an outcome' });
    await waitFor(async () => (await pendingCount(h.fx.redis, h.fx.stream)) === 0, { message: 'every entry to be acknowledged' });

    for (const runs of settled) {
      // One outcome for the slot: either the executor recorded its attempt, or the lease expired first and the
      // attempt was failed as lost and run again as a recovery attempt.
      expect(runs.filter((r) => r.status === 'succeeded')).toHaveLength(1);
      expect(new Set(runs.map((r) => ms(r.slot))).size).toBe(1);
      expect(runs.map((r) => r.attempt)).toEqual(runs.map((_, i) => i + 1));
      for (const lost of runs.slice(0, -1)) {
        expect(lost).toMatchObject({ status: 'failed', error: 'executor lost: lease expired' });
      }
      for (let i = 1; i < runs.length; i += 1) {
        expect(runs[i]?.source).toBe('recovery');
        expect(ms(runs[i]?.started_at ?? null)).toBeGreaterThanOrEqual(ms(runs[i - 1]?.finished_at ?? null));
      }
    }
    await stillServes(h);
  });
});
