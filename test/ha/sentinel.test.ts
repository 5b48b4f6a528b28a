import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/services.js';
import {
  type BurnDown,
  type KilledNode,
  SENTINELS,
  TASKS,
  degradedPeriod,
  expectEachSlotOnce,
  expectStreamModeWorks,
  killNode,
  recordHealth,
  restartNode,
  sentinelMaster,
  startBurnDown,
  stopRestarted,
  succeededCount,
  waitBurnedDown,
} from './ha-support.js';

/**
 * Vigil behind Sentinel (a master, a replica and three sentinels from scripts/test-services.sh sentinel): the
 * burn-down in stream mode, and the master SIGKILLed during one, after which the sentinels promote the replica and
 * Vigil follows it on its own.
 */

describe.skipIf(SENTINELS === '')('Redis Sentinel', () => {
  const runs: BurnDown[] = [];
  let killed: KilledNode | undefined;

  afterAll(async () => {
    for (const run of runs) await run.cleanup();
    if (killed !== undefined) await stopRestarted();
  });

  it(`burns down ${TASKS} tasks in stream mode, each exactly once, and reports the master serving the queue`, { timeout: 180_000 }, async () => {
    const run = await startBurnDown('sentinel', 'ha_sentinel_burn');
    runs.push(run);
    const master = await sentinelMaster();
    const health = (await (await fetch(`${run.url}/healthz`)).json()) as { mode: string; redis: Record<string, unknown> };
    expect(health.mode).toBe('redis_streams');
    expect(health.redis).toMatchObject({ ok: true, topology: 'sentinel', node: master });
    const queue = (await (await fetch(`${run.url}/queue`)).json()) as { redis: Record<string, unknown> };
    expect(queue.redis).toEqual({ topology: 'sentinel', node: master, ok: true });

    const seconds = await waitBurnedDown(run);
    await expectEachSlotOnce(run, { exact: true });
    console.log(`burn-down sentinel: ${TASKS} runs in ${seconds.toFixed(2)} s = ${Math.round(TASKS / seconds)} runs/s`);
    await run.cleanup();
  });

  it('survives a SIGKILL of the master during a burn-down, and resumes stream mode on the promoted replica', { timeout: 240_000 }, async () => {
    const run = await startBurnDown('sentinel', 'ha_sentinel_fail');
    runs.push(run);
    const health = recordHealth(run.url);
    try {
      await waitFor(async () => (await succeededCount(run.store)) >= 300, { timeoutMs: 60_000, message: '300 runs before the kill' });
      const master = await sentinelMaster();
      killed = await killNode(master);

      const promoted = await waitFor(async () => {
        const now = await sentinelMaster();
        return now !== master ? now : undefined;
      }, { timeoutMs: 30_000, intervalMs: 200, message: 'the sentinels to promote the replica' });

      const seconds = await waitBurnedDown(run, 180_000);
      await expectEachSlotOnce(run, { exact: false });

      await waitFor(
        () => {
          const last = health.samples.at(-1);
          return last?.status === 'ok' && last.mode === 'redis_streams' && last.node === promoted;
        },
        { timeoutMs: 20_000, message: `/healthz ok in stream mode on ${promoted}` },
      );
      const period = degradedPeriod(health.samples, killed.killedAt);
      expect(period, 'a degraded period on /healthz after the kill').toBeDefined();
      const degradedSamples = health.samples.filter((s) => s.at >= killed!.killedAt && s.status === 'degraded');
      expect(degradedSamples.some((s) => s.mode === 'db_polling')).toBe(true);
      await expectStreamModeWorks(run);
      console.log(
        `failover sentinel: /healthz degraded for ${((period?.ms ?? 0) / 1000).toFixed(1)} s ` +
          `(from ${((period!.start - killed.killedAt) / 1000).toFixed(1)} s after the kill); ` +
          `${TASKS} runs in ${seconds.toFixed(2)} s across it; master moved ${master} -> ${promoted}`,
      );
    } finally {
      await health.stop();
    }
    await run.cleanup();
    // The old master comes back; the sentinels make it a replica of the new one.
    await restartNode(killed);
  });
});
