import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/services.js';
import {
  type BurnDown,
  CLUSTER_NODES,
  type KilledNode,
  TASKS,
  clusterNodes,
  degradedPeriod,
  expectEachSlotOnce,
  expectStreamModeWorks,
  hostPort,
  killNode,
  nodeClient,
  queueSlot,
  recordHealth,
  restartNode,
  slotOwner,
  startBurnDown,
  stopRestarted,
  succeededCount,
  waitBurnedDown,
  waitClusterOk,
} from './ha-support.js';

/**
 * Vigil on a Redis Cluster of three masters with one replica each (scripts/test-services.sh cluster): the burn-down
 * in stream mode, the queue's slot migrated to another master during one (MOVED, ASK and TRYAGAIN on every kind of
 * command: blocking reads, scripts, pipelines), and the master owning the slot SIGKILLed during one (a failover).
 * The tests run in this order; the failover is last because it leaves the cluster with a restarted node.
 */

describe.skipIf(CLUSTER_NODES === '')('Redis Cluster', () => {
  const runs: BurnDown[] = [];
  let killed: KilledNode | undefined;

  beforeAll(async () => {
    await waitClusterOk();
  });

  afterAll(async () => {
    for (const run of runs) await run.cleanup();
    if (killed !== undefined) await stopRestarted();
  });

  it(`burns down ${TASKS} tasks in stream mode, each exactly once, and reports the node serving the queue`, { timeout: 180_000 }, async () => {
    const run = await startBurnDown('cluster', 'ha_cluster_burn');
    runs.push(run);
    const owner = await slotOwner(queueSlot(run.stream));
    const health = (await (await fetch(`${run.url}/healthz`)).json()) as { mode: string; redis: Record<string, unknown> };
    expect(health.mode).toBe('redis_streams');
    expect(health.redis).toMatchObject({ ok: true, topology: 'cluster', node: owner.addr });
    const queue = (await (await fetch(`${run.url}/queue`)).json()) as { redis: Record<string, unknown> };
    expect(queue.redis).toEqual({ topology: 'cluster', node: owner.addr, ok: true });

    const seconds = await waitBurnedDown(run);
    await expectEachSlotOnce(run, { exact: true });
    console.log(`burn-down cluster: ${TASKS} runs in ${seconds.toFixed(2)} s = ${Math.round(TASKS / seconds)} runs/s`);
    await run.cleanup();
  });

  it('keeps every slot to one outcome while the queue slot migrates to another master during a burn-down', { timeout: 180_000 }, async () => {
    const run = await startBurnDown('cluster', 'ha_cluster_move');
    runs.push(run);
    const slot = queueSlot(run.stream);
    await waitFor(async () => (await succeededCount(run.store)) >= 300, { timeoutMs: 60_000, message: '300 runs before the move' });

    const from = await slotOwner(slot);
    const to = (await clusterNodes()).find((n) => n.master && !n.failed && n.id !== from.id);
    if (to === undefined) throw new Error('no other master');
    const moved = await migrateSlot(slot, from, to);
    expect(moved).toBeGreaterThan(0);
    expect((await slotOwner(slot)).addr).toBe(to.addr);

    const seconds = await waitBurnedDown(run);
    await expectEachSlotOnce(run, { exact: true });
    // The client follows the move: the node serving the queue is the new owner, and stream mode carries on.
    await waitFor(
      async () => {
        const health = (await (await fetch(`${run.url}/healthz`)).json()) as { status: string; mode: string; redis: { node?: string } };
        return health.status === 'ok' && health.mode === 'redis_streams' && health.redis.node === to.addr;
      },
      { timeoutMs: 15_000, message: `/healthz to name ${to.addr} as the queue's node` },
    );
    await expectStreamModeWorks(run);
    console.log(`burn-down cluster with the slot migrated (${moved} keys): ${TASKS} runs in ${seconds.toFixed(2)} s`);
    await run.cleanup();
  });

  it('survives a SIGKILL of the master owning the queue slot during a burn-down, and resumes stream mode on the promoted replica', { timeout: 240_000 }, async () => {
    const run = await startBurnDown('cluster', 'ha_cluster_fail');
    runs.push(run);
    const slot = queueSlot(run.stream);
    const health = recordHealth(run.url);
    try {
      await waitFor(async () => (await succeededCount(run.store)) >= 300, { timeoutMs: 60_000, message: '300 runs before the kill' });
      const owner = await slotOwner(slot);
      killed = await killNode(owner.addr);

      // The cluster promotes the replica; the slot gets a new, live owner.
      await waitFor(async () => (await slotOwner(slot).catch(() => undefined))?.addr !== owner.addr && (await slotOwner(slot)).addr, {
        timeoutMs: 30_000,
        intervalMs: 200,
        message: 'a replica to take over the queue slot',
      });
      const promoted = await slotOwner(slot);

      const seconds = await waitBurnedDown(run, 180_000);
      await expectEachSlotOnce(run, { exact: false });

      // /healthz showed the outage, then came back to stream mode on the new master on its own.
      await waitFor(
        () => {
          const last = health.samples.at(-1);
          return last?.status === 'ok' && last.mode === 'redis_streams' && last.node === promoted.addr;
        },
        { timeoutMs: 20_000, message: `/healthz ok in stream mode on ${promoted.addr}` },
      );
      const period = degradedPeriod(health.samples, killed.killedAt);
      expect(period, 'a degraded period on /healthz after the kill').toBeDefined();
      const degradedSamples = health.samples.filter((s) => s.at >= killed!.killedAt && s.status === 'degraded');
      expect(degradedSamples.some((s) => !s.ok)).toBe(true);
      // The scheduler polls while the slot has no master, unless the failover is over before its stream commands
      // give up: the Cluster client retries a command whose node died (after a slot-map refresh) for up to about
      // 3 s, and a promotion faster than that is ridden through by the retried command, in stream mode.
      const polled = health.samples.filter((s) => s.at >= killed!.killedAt && s.mode === 'db_polling').length;
      await expectStreamModeWorks(run);
      console.log(
        `failover cluster: /healthz degraded for ${((period?.ms ?? 0) / 1000).toFixed(1)} s ` +
          `(from ${((period!.start - killed.killedAt) / 1000).toFixed(1)} s after the kill); ` +
          `${TASKS} runs in ${seconds.toFixed(2)} s across it; queue moved ${owner.addr} -> ${promoted.addr}; ` +
          `${polled} /healthz samples (100 ms apart) in polling mode`,
      );
    } finally {
      await health.stop();
    }
    await run.cleanup();
    // The killed node comes back as a replica of the promoted one, leaving a whole cluster behind.
    await restartNode(killed);
    await waitClusterOk();
  });
});

/**
 * Moves a slot from one master to another by hand (CLUSTER SETSLOT IMPORTING/MIGRATING, MIGRATE one key at a time
 * with a pause between keys, so that the queue's keys are split between the two nodes for a while and commands
 * get ASK and TRYAGAIN, then SETSLOT NODE on every master). Returns how many keys moved.
 */
async function migrateSlot(slot: number, from: { id: string; addr: string }, to: { id: string; addr: string }): Promise<number> {
  const src = nodeClient(from.addr);
  const dst = nodeClient(to.addr);
  let moved = 0;
  try {
    await dst.call('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', from.id);
    await src.call('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', to.id);
    const { host, port } = hostPort(to.addr);
    for (;;) {
      const keys = (await src.call('CLUSTER', 'GETKEYSINSLOT', String(slot), '1')) as string[];
      if (keys.length === 0) break;
      await src.call('MIGRATE', host, String(port), '', '0', '5000', 'KEYS', ...keys);
      moved += keys.length;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    for (const node of (await clusterNodes()).filter((n) => n.master && !n.failed)) {
      const client = nodeClient(node.addr);
      try {
        await client.call('CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id);
      } finally {
        client.disconnect();
      }
    }
  } finally {
    src.disconnect();
    dst.disconnect();
  }
  await waitFor(async () => (await slotOwner(slot)).id === to.id, { timeoutMs: 10_000, message: 'every node to agree on the new owner' });
  return moved;
}
