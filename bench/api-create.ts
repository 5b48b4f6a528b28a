/**
 * api-create: `POST /tasks` of the Vigil API (stream mode, APP_RUN_SCHEDULER=false, so only the API is measured)
 * beside a naive express baseline doing the same INSERT and XADD (bench/baseline-server.ts) and a bare express
 * app that parses the same body and answers 201 with no I/O (bench/bare-server.ts, the framework's own limit),
 * each in a child process, the first two each with its own database and stream. Load comes from another process:
 *   (a) autocannon, 50 connections, as fast as they go: req/s, p50, p99;
 *   (b) a fixed 1,000 req/s over 50 connections, requests evenly spaced: p50, p99, errors.
 * The servers take turns in short rounds, and the ratios are the medians of the per-round ratios. This one comes from
 *       bench/fixed-rate-load.ts, an open-loop generator, because `autocannon -R` sends each second's quota in a
 *       burst and over-weights slow answers (see that file).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
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
/** The open-loop rate of (b); BENCH_API_RATE lowers it on a machine too busy to serve 1,000 req/s at all. */
const FIXED_RATE = Number(process.env.BENCH_API_RATE) || 1000;
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

/**
 * A Vigil API: this tree's, or (label `vigil-ref`) the compiled `cmd/api/main.js` under BENCH_API_REF_BUILD, another
 * build of Vigil (say, of the main branch) measured in the same rounds, so that a change is judged by a ratio taken
 * side by side rather than by two runs minutes apart.
 */
async function startVigil(label = 'vigil'): Promise<Server> {
  const db = await createBenchDatabase(`api_${label}`);
  const stream = streamName(`api_${label}`);
  const port = await freePort();
  const refBuild = process.env.BENCH_API_REF_BUILD;
  const spawnApi = (name: string, env: Record<string, string>, flags: string[]) =>
    label === 'vigil-ref' && refBuild !== undefined
      ? spawnNode(name, join(refBuild, 'cmd', 'api', 'main.js'), [], { env, toFile: true, nodeFlags: flags, tsx: false })
      : spawnEntry(name, 'cmd/api/main.ts', [], { env, toFile: true, nodeFlags: flags });
  const child = spawnApi(
    `${label}-api`,
    vigilEnv({
      dsn: db.dsn,
      stream,
      mode: 'stream',
      extra: { APP_RUN_SCHEDULER: 'false', APP_HTTP_ADDR: `127.0.0.1:${port}` },
    }),
    vigilNodeFlags(`api-create-${label}`),
  );
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
  return { label, url: `${url}/tasks`, child, cleanup };
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

async function startBare(): Promise<Server> {
  const port = await freePort();
  const child = spawnEntry('bare', 'bench/bare-server.ts', [], { env: { PORT: String(port) } });
  await child.waitForLine(/^READY/);
  return { label: 'bare', url: `http://127.0.0.1:${port}/tasks`, child, cleanup: () => child.stop() };
}

/** Median of the values (the mean of the middle two for an even count). */
function median(values: readonly number[]): number {
  const sorted = [...values].filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function spread(values: readonly number[], digits = 2): string {
  const finite = values.filter(Number.isFinite);
  return finite.length === 0 ? 'n/a' : `${round(Math.min(...finite), digits)}–${round(Math.max(...finite), digits)}`;
}

/**
 * The machine drifts within a minute (and other work shares its two cores), so the servers are measured in short
 * interleaved rounds: each round runs (a) on every server, then (b) on every server, in an order that rotates from
 * round to round, and each ratio is taken within a round. The figures are the medians over the rounds.
 * BENCH_API_ROUNDS overrides the number of rounds, BENCH_API_ROUND_SECONDS the length of each run.
 */
export async function runApiCreate(): Promise<BenchOutcome> {
  const rounds = Number(process.env.BENCH_API_ROUNDS) || scaled(7, 3);
  const seconds = Number(process.env.BENCH_API_ROUND_SECONDS) || scaled(4, 2);
  const warmupSeconds = scaled(3, 1);
  const mysql = await mysqlServerPid();
  const redis = await redisServerPid();
  const servers: Server[] = [];
  try {
    servers.push(await startBare());
    servers.push(await startBaseline());
    servers.push(await startVigil());
    if (process.env.BENCH_API_REF_BUILD !== undefined) servers.push(await startVigil('vigil-ref'));
    const pidsOf = (s: Server) => ({ server: s.child.pid, mysql, redis });
    // Warm every server up (JIT, pools, buffer pool) before anything is recorded.
    for (const s of servers) await loadMax(s.url, warmupSeconds, pidsOf(s));
    for (const s of servers) await loadFixed(s.url, warmupSeconds, pidsOf(s));

    const max: Record<string, LoadResult[]> = Object.fromEntries(servers.map((s) => [s.label, []]));
    const fixed: Record<string, LoadResult[]> = Object.fromEntries(servers.map((s) => [s.label, []]));
    for (let r = 0; r < rounds; r += 1) {
      const order = servers.map((_, i) => servers[(i + r) % servers.length] as Server);
      for (const s of order) max[s.label]?.push(await loadMax(s.url, seconds, pidsOf(s)));
      for (const s of order) fixed[s.label]?.push(await loadFixed(s.url, seconds, pidsOf(s)));
      const last = (runs: Record<string, LoadResult[]>, label: string) => runs[label]?.[r] as LoadResult;
      process.stderr.write(
        `api-create: round ${r + 1}/${rounds}: req/s bare ${last(max, 'bare').requestsPerSecond} baseline ${last(max, 'baseline').requestsPerSecond} ` +
          `vigil ${last(max, 'vigil').requestsPerSecond}; p99 at ${FIXED_RATE}/s bare ${last(fixed, 'bare').p99} baseline ${last(fixed, 'baseline').p99} vigil ${last(fixed, 'vigil').p99} ms\n`,
      );
      for (const s of servers) {
        if (!s.child.alive()) throw new Error(`${s.label} died during the benchmark:\n${s.child.tail(15).join('\n')}`);
      }
    }

    const perRound = (runs: Record<string, LoadResult[]>, a: string, b: string, pick: (x: LoadResult) => number) =>
      (runs[a] ?? []).map((x, i) => pick(x) / pick((runs[b] ?? [])[i] as LoadResult));
    const med = (runs: Record<string, LoadResult[]>, label: string, pick: (x: LoadResult) => number | null) =>
      round(median((runs[label] ?? []).map((x) => pick(x) ?? Number.NaN)), 2);
    const rps = (x: LoadResult) => x.requestsPerSecond;
    const p99 = (x: LoadResult) => x.p99;
    const errorsOf = (x: LoadResult) => x.errors + x.non2xx + x.timeouts;
    const ratios = {
      throughputVigilBare: perRound(max, 'vigil', 'bare', rps),
      throughputVigilBaseline: perRound(max, 'vigil', 'baseline', rps),
      throughputBaselineBare: perRound(max, 'baseline', 'bare', rps),
      p99VigilBare: perRound(fixed, 'vigil', 'bare', p99),
      p99VigilBaseline: perRound(fixed, 'vigil', 'baseline', p99),
      p99BaselineBare: perRound(fixed, 'baseline', 'bare', p99),
      ...(max['vigil-ref'] === undefined
        ? {}
        : {
            throughputVigilRef: perRound(max, 'vigil', 'vigil-ref', rps),
            cpuPerRequestVigilRef: perRound(max, 'vigil', 'vigil-ref', (x) => x.serverCpuMsPerRequest ?? Number.NaN),
            p99VigilRef: perRound(fixed, 'vigil', 'vigil-ref', p99),
          }),
    };
    const ratioFigure = (metric: string, values: number[], target?: Figure['target']): Figure => ({
      metric,
      value: round(median(values), 2),
      unit: '×',
      ...(target === undefined ? {} : { target }),
      note: `median of ${values.length} rounds; per round ${spread(values)}`,
    });
    const sumErrors = (label: string) => (fixed[label] ?? []).reduce((a, x) => a + errorsOf(x), 0) + (max[label] ?? []).reduce((a, x) => a + errorsOf(x), 0);
    const figures: Figure[] = [
      ratioFigure('(a) throughput, Vigil / bare express', ratios.throughputVigilBare, { op: '>=', value: 0.7 }),
      ratioFigure('(a) throughput, Vigil / naive baseline', ratios.throughputVigilBaseline, { op: '>=', value: 1.5 }),
      ratioFigure('(a) throughput, naive baseline / bare express', ratios.throughputBaselineBare),
      ratioFigure(`(b) p99 at ${FIXED_RATE} req/s, Vigil / bare express`, ratios.p99VigilBare, { op: '<=', value: 1.5 }),
      ratioFigure(`(b) p99 at ${FIXED_RATE} req/s, Vigil / naive baseline`, ratios.p99VigilBaseline),
      ratioFigure(`(b) p99 at ${FIXED_RATE} req/s, naive baseline / bare express`, ratios.p99BaselineBare),
      { metric: '(a) Vigil throughput (median)', value: med(max, 'vigil', rps), unit: 'req/s' },
      { metric: '(a) naive baseline throughput (median)', value: med(max, 'baseline', rps), unit: 'req/s' },
      { metric: '(a) bare express throughput (median)', value: med(max, 'bare', rps), unit: 'req/s' },
      { metric: '(a) Vigil p99 (median)', value: med(max, 'vigil', p99), unit: 'ms' },
      { metric: '(a) Vigil CPU per request (median)', value: med(max, 'vigil', (x) => x.serverCpuMsPerRequest), unit: 'ms' },
      { metric: '(a) naive baseline CPU per request (median)', value: med(max, 'baseline', (x) => x.serverCpuMsPerRequest), unit: 'ms' },
      { metric: '(a) bare express CPU per request (median)', value: med(max, 'bare', (x) => x.serverCpuMsPerRequest), unit: 'ms' },
      { metric: `(b) Vigil p99 at ${FIXED_RATE} req/s (median)`, value: med(fixed, 'vigil', p99), unit: 'ms', target: { op: '<=', value: 15 } },
      { metric: `(b) Vigil p50 at ${FIXED_RATE} req/s (median)`, value: med(fixed, 'vigil', (x) => x.p50), unit: 'ms' },
      { metric: `(b) naive baseline p99 at ${FIXED_RATE} req/s (median)`, value: med(fixed, 'baseline', p99), unit: 'ms' },
      { metric: `(b) bare express p99 at ${FIXED_RATE} req/s (median)`, value: med(fixed, 'bare', p99), unit: 'ms' },
      { metric: `(b) bare express p50 at ${FIXED_RATE} req/s (median)`, value: med(fixed, 'bare', (x) => x.p50), unit: 'ms' },
      { metric: `(b) Vigil CPU per request (median)`, value: med(fixed, 'vigil', (x) => x.serverCpuMsPerRequest), unit: 'ms' },
      { metric: `(b) bare express CPU per request (median)`, value: med(fixed, 'bare', (x) => x.serverCpuMsPerRequest), unit: 'ms' },
      { metric: 'Vigil errors, all runs', value: sumErrors('vigil'), unit: '', target: { op: '<=', value: 0 } },
      { metric: 'rounds', value: rounds, unit: '' },
    ];
    if (ratios.throughputVigilRef !== undefined) {
      figures.push(
        ratioFigure('(a) throughput, Vigil / reference build', ratios.throughputVigilRef),
        ratioFigure('(a) CPU per request, Vigil / reference build', ratios.cpuPerRequestVigilRef ?? []),
        ratioFigure(`(b) p99 at ${FIXED_RATE} req/s, Vigil / reference build`, ratios.p99VigilRef ?? []),
      );
    }
    // A rate above what a server can serve measures its queue, not its latency: say so beside the p99 ratios.
    const slowest = Math.min(...servers.map((s) => med(max, s.label, rps)));
    if (slowest < FIXED_RATE * 1.2) {
      figures.push({
        metric: `(b) warning: slowest server's median throughput`,
        value: slowest,
        unit: 'req/s',
        note: `below 1.2 × ${FIXED_RATE} req/s: the (b) runs were overloaded and their p99s are queueing time (machine too busy)`,
      });
    }
    return {
      figures,
      details: {
        connections: CONNECTIONS,
        rounds,
        secondsPerRun: seconds,
        warmupSeconds,
        fixedRate: FIXED_RATE,
        body: BODY,
        ratiosPerRound: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, v.map((x) => round(x, 3))])),
        maxThroughput: max,
        fixedRateRuns: fixed,
        note: 'CPU shares are of one core (1 = one core busy); mysql/redis are the shared servers and include other load',
      },
    };
  } finally {
    for (const s of servers) await s.cleanup();
  }
}
