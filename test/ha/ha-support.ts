import { type ChildProcess, spawn } from 'node:child_process';
import { Cluster, Redis } from 'ioredis';
import { expect } from 'vitest';
import type { Store } from '../../internal/store/index.js';
import { QueueKeys } from '../../internal/taskqueue/index.js';
import { slotOf } from '../../internal/taskqueue/topology.js';
import { insertTasks, ms } from '../support/sched-fixture.js';
import { REDIS_SERVER_BIN, type TestStore, createTestStore, uniqueName, waitFor } from '../support/services.js';
import { startTestApp } from '../support/test-app.js';
import type { App } from '../../internal/app/index.js';

/**
 * Shared pieces of the high-availability tests (`make test-ha`): the Cluster and the Sentinel set that
 * `scripts/test-services.sh ha` starts, killing and restarting their nodes, a burn-down harness, and a recorder of
 * `/healthz` over time.
 */

export const CLUSTER_NODES = process.env.VIGIL_TEST_REDIS_CLUSTER_NODES ?? '';
export const SENTINELS = process.env.VIGIL_TEST_REDIS_SENTINELS ?? '';
export const SENTINEL_MASTER = process.env.VIGIL_TEST_REDIS_SENTINEL_MASTER ?? 'vigil-test';

export type Topology = 'cluster' | 'sentinel';

export function topologyEnv(topology: Topology): Record<string, string> {
  return topology === 'cluster'
    ? { REDIS_ADDR: '', REDIS_CLUSTER_NODES: CLUSTER_NODES }
    : { REDIS_ADDR: '', REDIS_SENTINELS: SENTINELS, REDIS_SENTINEL_MASTER: SENTINEL_MASTER };
}

export function hostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i), port: Number(addr.slice(i + 1)) };
}

/** A direct connection to one node (not following the cluster), for admin commands. */
export function nodeClient(addr: string): Redis {
  const client = new Redis({ ...hostPort(addr), lazyConnect: false, maxRetriesPerRequest: 1, retryStrategy: () => null });
  client.on('error', () => undefined);
  return client;
}

async function withNode<T>(addr: string, fn: (client: Redis) => Promise<T>): Promise<T> {
  const client = nodeClient(addr);
  try {
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

/** A cluster client of the test's own. */
export function clusterClient(): Cluster {
  const cluster = new Cluster(CLUSTER_NODES.split(',').map(hostPort), { scaleReads: 'master', slotsRefreshInterval: 1000 });
  cluster.on('error', () => undefined);
  return cluster;
}

/** The hash slot of a stream name's keys (they share one tag). */
export function queueSlot(stream: string): number {
  return slotOf(new QueueKeys(stream).probe());
}

interface ClusterNodeLine {
  id: string;
  addr: string;
  master: boolean;
  failed: boolean;
  slots: string[];
}

/** CLUSTER NODES as asked of one live node. */
export async function clusterNodes(): Promise<ClusterNodeLine[]> {
  for (const addr of CLUSTER_NODES.split(',')) {
    try {
      const text = await withNode(addr, (c) => c.call('CLUSTER', 'NODES') as Promise<string>);
      return text
        .trim()
        .split('\n')
        .map((line) => {
          const [id, address, flags, , , , , , ...slots] = line.split(' ');
          return {
            id: id ?? '',
            addr: (address ?? '').split('@')[0] ?? '',
            master: (flags ?? '').includes('master'),
            failed: /fail/.test(flags ?? '') || (flags ?? '').includes('noaddr'),
            slots,
          };
        });
    } catch {
      // that node is down; ask the next
    }
  }
  throw new Error('no cluster node answers');
}

function ownsSlot(ranges: string[], slot: number): boolean {
  return ranges.some((r) => {
    if (r.startsWith('[')) return false;
    const [a, b] = r.split('-').map(Number);
    return slot >= (a ?? -1) && slot <= (b ?? a ?? -1);
  });
}

/** The live master that owns a slot, as the cluster itself says. */
export async function slotOwner(slot: number): Promise<ClusterNodeLine> {
  const owner = (await clusterNodes()).find((n) => n.master && !n.failed && ownsSlot(n.slots, slot));
  if (owner === undefined) throw new Error(`no live master owns slot ${slot}`);
  return owner;
}

/** Waits until every slot is served again (cluster_state:ok as seen by a live node). */
export async function waitClusterOk(timeoutMs = 30_000): Promise<void> {
  await waitFor(
    async () => {
      for (const addr of CLUSTER_NODES.split(',')) {
        try {
          const info = await withNode(addr, (c) => c.call('CLUSTER', 'INFO') as Promise<string>);
          if (info.includes('cluster_state:ok')) return true;
        } catch {
          // down
        }
      }
      return false;
    },
    { timeoutMs, intervalMs: 200, message: 'cluster_state:ok' },
  );
}

/** The current master behind Sentinel, as the sentinels say. */
export async function sentinelMaster(): Promise<string> {
  for (const addr of SENTINELS.split(',')) {
    try {
      const reply = await withNode(addr, (c) => c.call('SENTINEL', 'get-master-addr-by-name', SENTINEL_MASTER) as Promise<string[]>);
      if (Array.isArray(reply) && reply.length === 2) return `${reply[0]}:${reply[1]}`;
    } catch {
      // that sentinel is down; ask the next
    }
  }
  throw new Error('no sentinel answers');
}

/** A redis-server killed by a test, which it can start again from its own config file. */
export interface KilledNode {
  addr: string;
  configFile: string;
  killedAt: number;
}

/** SIGKILLs the redis-server at `addr` (its pid from INFO), noting how to start it again. */
export async function killNode(addr: string): Promise<KilledNode> {
  const { pid, dir } = await withNode(addr, async (c) => {
    const info = await c.info('server');
    const match = /process_id:(\d+)/.exec(info);
    const dirReply = (await c.config('GET', 'dir')) as string[];
    return { pid: Number(match?.[1]), dir: String(dirReply[1]) };
  });
  expect(pid).toBeGreaterThan(0);
  process.kill(pid, 'SIGKILL');
  await waitFor(
    () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    },
    { timeoutMs: 5000, message: `redis-server ${addr} to die` },
  );
  return { addr, configFile: `${dir}/redis.conf`, killedAt: Date.now() };
}

/** Restarted nodes, stopped by {@link stopRestarted} (by pid). */
const restarted: ChildProcess[] = [];

/** Starts a killed node again from its config: it rejoins as a replica of whoever took over. */
export async function restartNode(node: KilledNode): Promise<void> {
  const child = spawn(REDIS_SERVER_BIN, [node.configFile], { stdio: 'ignore' });
  restarted.push(child);
  await waitFor(async () => (await withNode(node.addr, (c) => c.ping())) === 'PONG', {
    timeoutMs: 10_000,
    message: `${node.addr} to answer again`,
  });
}

export async function stopRestarted(): Promise<void> {
  for (const child of restarted.splice(0)) {
    if (child.exitCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

// ---------------------------------------------------------------------------------------------------------------

export interface HealthSample {
  at: number;
  status: string;
  mode: string;
  ok: boolean;
  topology: string | undefined;
  node: string | null | undefined;
}

/** Polls `/healthz` every 100 ms until stopped; the timeline shows the degraded period. */
export function recordHealth(url: string): { samples: HealthSample[]; stop(): Promise<void> } {
  const samples: HealthSample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const res = await fetch(`${url}/healthz`);
        const body = (await res.json()) as {
          status: string;
          mode: string;
          redis: { ok: boolean; topology?: string; node?: string | null };
        };
        samples.push({ at: Date.now(), status: body.status, mode: body.mode, ok: body.redis.ok, topology: body.redis.topology, node: body.redis.node });
      } catch {
        // the app is stopping
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** The first degraded stretch after `from`: when it began, when `/healthz` was ok again, and how long it lasted. */
export function degradedPeriod(samples: HealthSample[], from: number): { start: number; end: number; ms: number } | undefined {
  const after = samples.filter((s) => s.at >= from);
  const first = after.findIndex((s) => s.status === 'degraded');
  if (first < 0) return undefined;
  const back = after.slice(first).find((s) => s.status === 'ok' && s.mode === 'redis_streams');
  if (back === undefined) return undefined;
  const start = after[first]?.at ?? 0;
  return { start, end: back.at, ms: back.at - start };
}

// ---------------------------------------------------------------------------------------------------------------

export interface BurnDown {
  ts: TestStore;
  store: Store;
  stream: string;
  ids: number[];
  app: App;
  url: string;
  cleanup(): Promise<void>;
}

export const TASKS = 2000;

/**
 * 2,000 noop tasks due now, and one app (API plus embedded scheduler) in stream mode on the given topology. The
 * run takes the default recovery timeout, as test/sched-burn-down.test.ts does: this measures the queue, not
 * recovery.
 */
export async function startBurnDown(topology: Topology, label: string): Promise<BurnDown> {
  const ts = await createTestStore('mysql', label);
  const stream = uniqueName(`vigil_${label}`);
  const ids = await insertTasks(ts.store, { count: TASKS, namePrefix: label, type: 'noop', every: 3600 });
  expect(ids).toHaveLength(TASKS);
  const { app, url } = await startTestApp({
    storeEnv: ts.env,
    stream,
    env: { ...topologyEnv(topology), APP_WORKER_POOL_SIZE: '50', APP_RECOVERY_TIMEOUT: '60s' },
  });
  let cleaned = false;
  return {
    ts,
    store: ts.store,
    stream,
    ids,
    app,
    url,
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      await app.stop();
      await deleteQueueKeys(topology, stream).catch(() => undefined);
      await ts.cleanup();
    },
  };
}

async function deleteQueueKeys(topology: Topology, stream: string): Promise<void> {
  const keys = new QueueKeys(stream);
  const all = [...keys.streams(), keys.probe()];
  if (topology === 'cluster') {
    const cluster = clusterClient();
    try {
      await cluster.del(...all);
    } finally {
      cluster.disconnect();
    }
  } else {
    await withNode(await sentinelMaster(), (c) => c.del(...all));
  }
}

export async function succeededCount(store: Store): Promise<number> {
  const row = await store.db
    .selectFrom('task_runs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('status', '=', 'succeeded')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Waits until every task has a succeeded run; returns the seconds from the first start to the last finish. */
export async function waitBurnedDown(run: BurnDown, timeoutMs = 150_000): Promise<number> {
  await waitFor(async () => (await succeededCount(run.store)) >= TASKS, {
    timeoutMs,
    intervalMs: 250,
    message: `${TASKS} succeeded runs`,
  });
  const runs = await run.store.db.selectFrom('task_runs').select(['started_at', 'finished_at']).execute();
  const first = Math.min(...runs.map((r) => ms(r.started_at)));
  const last = Math.max(...runs.map((r) => ms(r.finished_at)));
  return (last - first) / 1000;
}

/**
 * G2 and G3 over the whole burn-down: every task's one slot has exactly one outcome (one succeeded run, nothing
 * failed), no run is left `running`, no task ran two slots, and nothing became a dead letter. With `exact`, every
 * slot also ran exactly once (one attempt); after a failover a run whose lease outlived its executor's write may be
 * repeated by recovery, which G3 allows as long as the outcome is one.
 */
export async function expectEachSlotOnce(run: BurnDown, options: { exact: boolean }): Promise<void> {
  const runs = await run.store.db.selectFrom('task_runs').select(['task_id', 'slot', 'status', 'attempt']).execute();
  const byTask = new Map<number, typeof runs>();
  for (const r of runs) byTask.set(Number(r.task_id), [...(byTask.get(Number(r.task_id)) ?? []), r]);
  expect(new Set(byTask.keys())).toEqual(new Set(run.ids));
  const problems: string[] = [];
  for (const [taskId, list] of byTask) {
    const succeeded = list.filter((r) => r.status === 'succeeded');
    const slots = new Set(list.map((r) => ms(r.slot)));
    if (succeeded.length !== 1) problems.push(`task ${taskId}: ${succeeded.length} succeeded runs`);
    if (slots.size !== 1) problems.push(`task ${taskId}: ${slots.size} slots`);
    if (list.some((r) => r.status === 'running')) problems.push(`task ${taskId}: a run left running`);
    if (list.some((r) => r.status === 'failed')) problems.push(`task ${taskId}: a failed outcome`);
    if (options.exact && list.length !== 1) problems.push(`task ${taskId}: ${list.length} attempts`);
  }
  expect(problems.slice(0, 10)).toEqual([]);
  const dead = await run.store.db.selectFrom('dead_letters').select('id').execute();
  expect(dead).toEqual([]);
}

/** Stream mode works after the event: a new task is published to the stream and runs. */
export async function expectStreamModeWorks(run: BurnDown): Promise<void> {
  const res = await fetch(`${run.url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'after', type: 'noop', payload: {}, schedule: { every: 3600 } }),
  });
  const created = (await res.json()) as { id: number; queued_via: string };
  expect(res.status).toBe(201);
  expect(created.queued_via).toBe('stream');
  await waitFor(
    async () => {
      const row = await run.store.db.selectFrom('task_runs').select('status').where('task_id', '=', created.id).executeTakeFirst();
      return row?.status === 'succeeded';
    },
    { timeoutMs: 20_000, message: 'the task created after the event to run' },
  );
}
