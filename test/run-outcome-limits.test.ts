import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTaskType } from '../internal/handlers/index.js';
import { systemClock } from '../internal/platform/clock.js';
import { silentLogger } from '../internal/platform/logger.js';
import { Metrics } from '../internal/platform/metrics.js';
import { withTimeout } from '../internal/platform/timeout.js';
import { RunExecutor } from '../internal/scheduler/run-executor.js';
import { type Store, openStore, slotClaimDue, slotRecoverExpired, taskGetById } from '../internal/store/index.js';
import { insertTask } from '../internal/scheduler/test-support.js';
import { type SchedFixture, type SchedMode, createSchedFixture, postTask, runsOfTask } from './support/sched-fixture.js';
import type { Dialect } from './support/services.js';
import { waitFor } from './support/services.js';
import { startTcpProxy } from './support/tcp-proxy.js';
import { testRegistry } from './support/test-types.js';

/**
 * Issue 11, item 1 (G4, G8): a handler output far larger than a statement MariaDB takes (13 MB of quotes, each
 * escaped twice on its way to MySQL: over 50 MB against a 16 MiB `max_allowed_packet`) must not leave its slot
 * leased for ever, nor hold up the runs recorded in the same batch. Outputs are capped before any SQL; with the
 * cap raised past what the database takes, the refused outcome becomes a failed attempt of that slot alone; and a
 * record that cannot be written at all gives its lease up after bounded tries.
 */

const BIG = 13_000_000;
const MATES = 5;

async function createBatch(url: string, label: string, big: Record<string, unknown>) {
  const bigTask = await postTask(url, { name: `${label} big`, type: 'big_output', schedule: { every: 3600 }, ...big });
  const mates = [];
  for (let i = 0; i < MATES; i += 1) mates.push(await postTask(url, { name: `${label} mate ${i}`, type: 'count', schedule: { every: 3600 } }));
  return { bigId: bigTask.id, mateIds: mates.map((m) => m.id) };
}

async function settledRuns(fx: SchedFixture, taskId: number, status: string) {
  return waitFor(async () => {
    const runs = await runsOfTask(fx.store, taskId);
    return runs.length > 0 && runs.every((r) => r.status !== 'running') && runs.at(-1)?.status === status ? runs : undefined;
  }, { timeoutMs: 30_000, message: `task ${taskId} to reach ${status}` });
}

describe.each<[Dialect, SchedMode]>([
  ['mysql', 'stream'],
  ['sqlite', 'polling'],
])('a 13 MB quote-heavy output (%s, %s mode)', (dialect, mode) => {
  let fx: SchedFixture;
  let url: string;

  beforeAll(async () => {
    fx = await createSchedFixture(`out_cap_${dialect}`, dialect);
    ({ url } = await fx.startApp(mode));
  });

  afterAll(async () => {
    await fx?.cleanup();
  });

  it('is cut to APP_MAX_OUTPUT_BYTES and flagged; the slot finishes, and so do its batch-mates', async () => {
    const { bigId, mateIds } = await createBatch(url, 'capped', {
      payload: { bytes: BIG, up: false },
      notify: { webhook_url: 'https://hooks.example/vigil', on: ['down'] },
    });
    const [run] = await settledRuns(fx, bigId, 'succeeded');
    const stored = String(run?.output);
    // The cap (256 KiB by default) plus the small alert summary the store adds to a result's output.
    expect(Buffer.byteLength(stored)).toBeLessThanOrEqual(256 * 1024 + 1024);
    const output = JSON.parse(stored) as Record<string, unknown>;
    expect(output).toMatchObject({
      status_code: 200,
      up: false,
      output_truncated: { max_bytes: 256 * 1024, dropped_fields: ['body'] },
    });
    const truncation = output.output_truncated as { original_bytes: number; preview: string };
    expect(truncation.original_bytes).toBeGreaterThan(2 * BIG);
    expect(truncation.preview.length).toBeGreaterThan(1000);
    expect(await taskGetById(fx.store, bigId)).toMatchObject({ leaseToken: null, lastStatus: 'succeeded' });

    for (const id of mateIds) {
      expect((await settledRuns(fx, id, 'succeeded')).map((r) => r.attempt)).toEqual([1]);
    }

    // The down notification copies the output: its body is capped as well.
    const notification = await waitFor(
      () => fx.store.db.selectFrom('notifications').select(['body']).where('task_id', '=', bigId).executeTakeFirst(),
      { message: 'the down notification' },
    );
    expect(Buffer.byteLength(notification.body)).toBeLessThanOrEqual(256 * 1024);
    expect(notification.body).toContain('output_truncated');
  });
});

describe('an output the database refuses (mysql, cap raised past max_allowed_packet)', () => {
  let fx: SchedFixture;

  beforeAll(async () => {
    fx = await createSchedFixture('out_refused', 'mysql');
  });

  afterAll(async () => {
    await fx?.cleanup();
  });

  it('fails that attempt alone with a clear error; the slot moves on and the batch-mates succeed', async () => {
    // All due before the app starts, so that they are claimed, run and recorded together. (Posting them one by one
    // would race the app's event loop, busy escaping 50 MB of SQL.)
    const now = new Date();
    const insert = (name: string, type: string, payload: Record<string, unknown>, maxAttempts: number) =>
      insertTask(fx.store, now, { name, type, payload, schedule: { every: 3600 }, timeoutMs: 30_000, maxAttempts });
    // 5 MB of quotes: 10 MB of JSON, under the raised cap, and 20 MB once escaped for MySQL, over its 16 MiB packet.
    const bigId = (await insert('refused big', 'big_output', { bytes: 5_000_000 }, 1)).id;
    const mateIds: number[] = [];
    for (let i = 0; i < MATES; i += 1) mateIds.push((await insert(`refused mate ${i}`, 'count', {}, 3)).id);
    // Long leases: escaping tens of megabytes of SQL blocks the event loop, heartbeats included, for seconds.
    await fx.startApp('stream', { env: { APP_MAX_OUTPUT_BYTES: '16MiB', APP_RECOVERY_TIMEOUT: '120s' } });

    const runs = await settledRuns(fx, bigId, 'failed');
    expect(runs).toHaveLength(1);
    expect(JSON.parse(String(runs[0]?.output))).toBeNull();
    // MariaDB either answers ER_NET_PACKET_TOO_LARGE or resets the connection mid-write; either way the error says so.
    expect(runs[0]?.error).toMatch(/^the outcome could not be recorded: .*max_allowed_packet/);
    // One attempt allowed: the slot ended as a dead letter and the task waits for its next slot, lease free.
    expect(await taskGetById(fx.store, bigId)).toMatchObject({ leaseToken: null, lastStatus: 'failed' });
    const letters = await fx.store.db.selectFrom('dead_letters').selectAll().where('task_id', '=', bigId).execute();
    expect(letters.map((l) => l.reason)).toEqual(['attempts_exhausted']);
    for (const id of mateIds) {
      expect((await settledRuns(fx, id, 'succeeded')).map((r) => r.attempt)).toEqual([1]);
    }
  });
});

describe('an outcome that cannot be written at all (mysql, store cut while recording)', () => {
  let fx: SchedFixture;
  let store: Store;

  beforeAll(async () => {
    fx = await createSchedFixture('out_give_up', 'mysql');
  });

  afterAll(async () => {
    await store?.close();
    await fx?.cleanup();
  });

  it('gives its lease up after bounded tries, and recovery takes the slot', async () => {
    const direct = new URL(fx.ts.env.MYSQL_DSN as string);
    const proxy = await startTcpProxy(direct.hostname, direct.port === '' ? 3306 : Number(direct.port));
    const proxied = new URL(direct);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    store = openStore({ mysqlDsn: proxied.toString(), connectTimeoutMs: 500 });
    try {
      // The handler cuts the store just before it returns: its outcome can never be written.
      const registry = testRegistry().register(
        defineTaskType({
          name: 'cut_store',
          payloadSchema: z.object({}).strict(),
          run: async () => {
            await proxy.block();
            return { ok: true };
          },
        }),
      );
      const now = new Date();
      const { id } = await insertTask(fx.store, now, { name: 'give up', type: 'cut_store', schedule: { every: 3600 }, timeoutMs: 10_000 });
      const [claim] = await slotClaimDue(store, {
        workerId: 'host:1:give-up',
        leaseToken: 'give-up-token',
        leaseMs: 2000,
        now: new Date(),
        typePatterns: ['cut_store'],
        limit: 1,
        channel: 'poll',
      });
      if (claim === undefined) throw new Error('no claim');
      const executor = new RunExecutor(
        { store, registry, clock: systemClock, metrics: new Metrics({ defaultMetrics: false }), logger: silentLogger() },
        { workerId: 'host:1:give-up', retry: { baseMs: 10, maxMs: 10 }, maxRecordTries: 3, recordBackoff: { baseMs: 100, maxMs: 200, jitter: 'none' } },
      );
      let recorded = false;
      // Today's executor retries for ever while its lease is kept alive; it must end on its own.
      await withTimeout(
        executor.execute({ claim, onRecorded: async () => void (recorded = true) }, new AbortController().signal, new AbortController().signal),
        15_000,
        'the executor kept retrying the record',
      );
      expect(recorded).toBe(false);
      expect((await runsOfTask(fx.store, Number(id))).map((r) => r.status)).toEqual(['running']);

      proxy.unblock();
      // Nothing renews the lease any more: once it expires, recovery fails the attempt and frees the slot.
      const recovered = await waitFor(async () => {
        const result = await slotRecoverExpired(fx.store, { now: new Date(), limit: 10 });
        return result.recovered > 0 ? result : undefined;
      }, { message: 'recovery to take the slot' });
      expect(recovered.recovered).toBe(1);
      expect((await runsOfTask(fx.store, Number(id))).map((r) => [r.status, r.error])).toEqual([['failed', 'executor lost: lease expired']]);
      expect(await taskGetById(fx.store, Number(id))).toMatchObject({ leaseToken: null });
    } finally {
      proxy.unblock();
      await proxy.close();
    }
  });
});
