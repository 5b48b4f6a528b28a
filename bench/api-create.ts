/**
 * api-create: `POST /tasks` of the Vigil API (stream mode, APP_RUN_SCHEDULER=false, so only the API is measured)
 * beside a naive express baseline doing the same INSERT and XADD (bench/baseline-server.ts), each in a child
 * process, each with its own database and stream. Load comes from a third process:
 *   (a) autocannon, 50 connections for 10 s, as fast as they go: req/s, p50, p99;
 *   (b) a fixed 1,000 req/s for 10 s over 50 connections: p50, p99, errors. This one comes from
 *       bench/fixed-rate-load.ts, an open-loop generator, because `autocannon -R` sends each second's quota in a
 *       burst and over-weights slow answers (see that file).
 */
import { createRequire } from 'node:module';
import {
  type BenchChild,
  type BenchOutcome,
  CpuMeter,
  type Figure,
  createBenchDatabase,
  deleteKeysContaining,
  freePort,
  mysqlServerPid,
  redisServerPid,
  round,
  scaled,
  spawnEntry,
  spawnNode,
  streamName,
  vigilEnv,
  vigilNodeFlags,
  waitHttpOk,
} from './support.js';

const CONNECTIONS = 50;
const FIXED_RATE = 1000;
/** A realistic create: a noop task every 60 s; `[<id>]` is replaced by autocannon with a unique id. */
const BODY = JSON.stringify({ name: 'bench [<id>]', type: 'noop', payload: {}, schedule: { every: 60 } });

interface LoadResult {
  requestsPerSecond: number;
  total: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  errors: number;
  non2xx: number;
  timeouts: number;
  /** CPU of the server process over the run, ms per request answered. */
  serverCpuMsPerRequest: number | null;
  serverCoreShare: number | null;
  mysqlCoreShare: number | null;
  redisCoreShare: number | null;
  loaderCoreShare: number | null;
}

interface FixedRateJson {
  requests: number;
  requestsPerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  serviceP50: number;
  serviceP99: number;
  errors: number;
  non2xx: number;
}

interface AutocannonJson {
  requests: { average: number; total: number };
  latency: { p50: number; p90: number; p99: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  duration: number;
}

const autocannonBin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

type Pids = { server: number; mysql: number | undefined; redis: number | undefined };

/** Runs a load generator child, meters CPU until it prints its JSON report, and returns the report and the CPU. */
async function runLoader(loader: BenchChild, pids: Pids): Promise<{ json: string; cpu: ReturnType<CpuMeter['end']> }> {
  const meter = new CpuMeter({ server: pids.server, mysql: pids.mysql, redis: pids.redis, loader: loader.pid });
  let json = '';
  // Read the CPU as soon as the report is printed, before the loader spends anything on exiting.
  const reported = new Promise<void>((done) =>
    loader.onLine((line) => {
      if (!line.startsWith('{')) return;
      json = line;
      done();
    }),
  );
  await Promise.race([reported, loader.exited]);
  const cpu = meter.end();
  const { code } = await loader.exited;
  if (json === '') throw new Error(`${loader.name} printed no report (exit ${code}):\n${loader.tail(10).join('\n')}`);
  return { json, cpu };
}

function withCpu(base: Omit<LoadResult, 'serverCpuMsPerRequest' | 'serverCoreShare' | 'mysqlCoreShare' | 'redisCoreShare' | 'loaderCoreShare'>, cpu: ReturnType<CpuMeter['end']>): LoadResult {
  const answered = Math.max(1, base.total);
  return {
    ...base,
    serverCpuMsPerRequest: cpu.server ? round((cpu.server.cpuSeconds * 1000) / answered, 3) : null,
    serverCoreShare: cpu.server?.coreShare ?? null,
    mysqlCoreShare: cpu.mysql?.coreShare ?? null,
    redisCoreShare: cpu.redis?.coreShare ?? null,
    loaderCoreShare: cpu.loader?.coreShare ?? null,
  };
}

/** (a): autocannon in its own process, 50 connections, as fast as they go. */
async function loadMax(url: string, seconds: number, pids: Pids): Promise<LoadResult> {
  const args = ['-j', '-n', '-I', '-c', String(CONNECTIONS), '-d', String(seconds), '-m', 'POST'];
  args.push('-H', 'content-type=application/json', '-b', BODY);
  const loader = spawnNode('autocannon', autocannonBin, [...args, url], { env: {}, tsx: false });
  const { json, cpu } = await runLoader(loader, pids);
  const report = JSON.parse(json) as AutocannonJson;
  return withCpu(
    {
      requestsPerSecond: round(report.requests.total / report.duration, 0),
      total: report.requests.total,
      p50: report.latency.p50,
      p90: report.latency.p90,
      p99: report.latency.p99,
      max: report.latency.max,
      errors: report.errors,
      non2xx: report.non2xx,
      timeouts: report.timeouts,
    },
    cpu,
  );
}

/** (b): the open-loop generator in its own process, a fixed rate over 50 connections. */
async function loadFixed(url: string, seconds: number, pids: Pids): Promise<LoadResult & { serviceP50: number; serviceP99: number }> {
  const loader = spawnEntry('fixed-rate-load', 'bench/fixed-rate-load.ts', [], {
    env: { URL: url, RATE: String(FIXED_RATE), SECONDS: String(seconds), CONNECTIONS: String(CONNECTIONS), BODY },
  });
  const { json, cpu } = await runLoader(loader, pids);
  const report = JSON.parse(json) as FixedRateJson;
  return {
    ...withCpu(
      {
        requestsPerSecond: report.requestsPerSecond,
        total: report.requests,
        p50: report.p50,
        p90: report.p90,
        p99: report.p99,
        max: report.max,
        errors: report.errors,
        non2xx: report.non2xx,
        timeouts: 0,
      },
      cpu,
    ),
    serviceP50: report.serviceP50,
    serviceP99: report.serviceP99,
  };
}

interface Server {
  label: string;
  url: string;
  child: BenchChild;
  cleanup(): Promise<void>;
}

async function startVigil(): Promise<Server> {
  const db = await createBenchDatabase('api_vigil');
  const stream = streamName('api');
  const port = await freePort();
  const child = spawnEntry('vigil-api', 'cmd/api/main.ts', [], {
    env: vigilEnv({
      dsn: db.dsn,
      stream,
      mode: 'stream',
      extra: { APP_RUN_SCHEDULER: 'false', APP_HTTP_ADDR: `127.0.0.1:${port}` },
    }),
    toFile: true,
    nodeFlags: vigilNodeFlags('api-create-vigil'),
  });
  const url = `http://127.0.0.1:${port}`;
  const cleanup = async () => {
    await child.stop();
    await db.drop();
    await deleteKeysContaining(stream);
  };
  try {
    await waitHttpOk(`${url}/readyz`);
  } catch (err) {
    await cleanup();
    throw new Error(`${(err as Error).message}\n${child.tail(15).join('\n')}`);
  }
  return { label: 'vigil', url: `${url}/tasks`, child, cleanup };
}

async function startBaseline(): Promise<Server> {
  const db = await createBenchDatabase('api_baseline');
  const stream = streamName('api_baseline');
  const port = await freePort();
  const child = spawnEntry('baseline', 'bench/baseline-server.ts', [], {
    env: { MYSQL_DSN: db.dsn, REDIS_ADDR: process.env.VIGIL_TEST_REDIS_ADDR ?? '127.0.0.1:6379', STREAM: stream, PORT: String(port), MYSQL_POOL_SIZE: '10' },
  });
  const cleanup = async () => {
    await child.stop();
    await db.drop();
    await deleteKeysContaining(stream);
  };
  await child.waitForLine(/^READY/).catch(async (err: unknown) => {
    await cleanup();
    throw err;
  });
  return { label: 'baseline', url: `http://127.0.0.1:${port}/tasks`, child, cleanup };
}

export async function runApiCreate(): Promise<BenchOutcome> {
  const seconds = scaled(10, 2);
  const warmupSeconds = scaled(3, 1);
  const mysql = await mysqlServerPid();
  const redis = await redisServerPid();
  const servers: Server[] = [];
  try {
    servers.push(await startBaseline());
    servers.push(await startVigil());
    const [baseline, vigil] = servers as [Server, Server];
    const pidsOf = (s: Server) => ({ server: s.child.pid, mysql, redis });
    // Warm both up (JIT, pools, buffer pool) before anything is recorded.
    for (const s of servers) await loadMax(s.url, warmupSeconds, pidsOf(s));

    const max: Record<string, LoadResult> = {};
    const fixed: Record<string, LoadResult> = {};
    for (const s of [baseline, vigil]) {
      max[s.label] = await loadMax(s.url, seconds, pidsOf(s));
      process.stderr.write(`api-create: ${s.label} max throughput ${max[s.label]?.requestsPerSecond} req/s\n`);
    }
    for (const s of [baseline, vigil]) {
      fixed[s.label] = await loadFixed(s.url, seconds, pidsOf(s));
      process.stderr.write(`api-create: ${s.label} at ${FIXED_RATE}/s p99 ${fixed[s.label]?.p99} ms\n`);
    }
    for (const s of servers) {
      if (!s.child.alive()) throw new Error(`${s.label} died during the benchmark:\n${s.child.tail(15).join('\n')}`);
    }

    const v = max.vigil as LoadResult;
    const b = max.baseline as LoadResult;
    const vf = fixed.vigil as LoadResult;
    const bf = fixed.baseline as LoadResult;
    const errorsOf = (r: LoadResult) => r.errors + r.non2xx + r.timeouts;
    const figures: Figure[] = [
      { metric: '(a) throughput, Vigil / baseline', value: round(v.requestsPerSecond / b.requestsPerSecond, 2), unit: '×', target: { op: '>=', value: 1.5 } },
      { metric: '(a) Vigil throughput', value: v.requestsPerSecond, unit: 'req/s' },
      { metric: '(a) baseline throughput', value: b.requestsPerSecond, unit: 'req/s' },
      { metric: '(a) Vigil p50', value: v.p50, unit: 'ms' },
      { metric: '(a) Vigil p99', value: v.p99, unit: 'ms' },
      { metric: '(a) baseline p50', value: b.p50, unit: 'ms' },
      { metric: '(a) baseline p99', value: b.p99, unit: 'ms' },
      { metric: '(a) Vigil CPU per request', value: v.serverCpuMsPerRequest, unit: 'ms' },
      { metric: '(a) baseline CPU per request', value: b.serverCpuMsPerRequest, unit: 'ms' },
      { metric: `(b) Vigil p99 at ${FIXED_RATE} req/s`, value: vf.p99, unit: 'ms', target: { op: '<=', value: 15 } },
      { metric: `(b) Vigil p50 at ${FIXED_RATE} req/s`, value: vf.p50, unit: 'ms' },
      { metric: `(b) Vigil errors at ${FIXED_RATE} req/s`, value: errorsOf(vf), unit: '', target: { op: '<=', value: 0 } },
      { metric: `(b) Vigil CPU per request`, value: vf.serverCpuMsPerRequest, unit: 'ms' },
      { metric: `(b) baseline p99 at ${FIXED_RATE} req/s`, value: bf.p99, unit: 'ms' },
      { metric: `(b) baseline p50 at ${FIXED_RATE} req/s`, value: bf.p50, unit: 'ms' },
      { metric: `(b) baseline errors at ${FIXED_RATE} req/s`, value: errorsOf(bf), unit: '' },
      { metric: `(b) baseline CPU per request`, value: bf.serverCpuMsPerRequest, unit: 'ms' },
      { metric: `(b) p99 Vigil / baseline`, value: round(vf.p99 / bf.p99, 2), unit: '×' },
    ];
    return {
      figures,
      details: {
        connections: CONNECTIONS,
        seconds,
        warmupSeconds,
        fixedRate: FIXED_RATE,
        body: BODY,
        maxThroughput: max,
        fixedRateRuns: fixed,
        note: 'CPU shares are of one core (1 = one core busy); mysql/redis are the shared servers and include other load',
      },
    };
  } finally {
    for (const s of servers) await s.cleanup();
  }
}
