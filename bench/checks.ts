/**
 * checks (issue 17 item 3): periodic `http` checks at scale, against the peer a Node.js team would pick.
 *
 * N `http` monitors every P seconds against a local target server (bench/http-target.ts), slots spread evenly over
 * the period, for CYCLES periods, on each side in turn:
 * - Vigil, stream mode and polling mode: one cmd/scheduler child (default settings); the tasks are bulk-inserted
 *   paused, then one UPDATE makes them running with slots t0 + i × P / N, as in the scale benchmark;
 * - BullMQ: one job scheduler per monitor (`upsertJobScheduler`, `every` P s, `startDate` t0 + i × P / N) and one
 *   Worker child (bench/bullmq-checks-worker.ts, concurrency 50 like Vigil's default pool) whose job does the same
 *   undici GET and writes one result row to MySQL.
 * Both sides record each check in `task_runs` with its slot, so lateness (started_at − slot) p50/p99/max, missed
 * slots (slots of the window without a run) and checks per second are read from the same table the same way. CPU per
 * check comes from /proc for the process, mysqld and redis-server (server-wide: run with VIGIL_TEST_FORCE_LOCAL=1 for
 * servers of the benchmark's own), peak RSS from VmHWM.
 *
 * Environment: BENCH_CHECKS_MONITORS (comma-separated counts; default 1,000 × BENCH_SCALE), BENCH_CHECKS_PERIOD
 * (comma-separated seconds; default 10), BENCH_CHECKS_CYCLES (default 3), BENCH_CHECKS_SIDES (default
 * stream,polling,bullmq). Issue 17's full scale: BENCH_CHECKS_MONITORS=20000 BENCH_CHECKS_PERIOD=20, on a quiet
 * machine, then higher counts until each side falls behind.
 */
import { Queue } from 'bullmq';
import {
  type BenchChild,
  type BenchDatabase,
  type BenchOutcome,
  CpuMeter,
  countersPer,
  type Figure,
  type Summary,
  createBenchDatabase,
  deleteKeysContaining,
  freePort,
  insertTasks,
  memoryMb,
  mysqlServerPid,
  queryOne,
  randomTag,
  REDIS_ADDR,
  redisHostPort,
  redisServerPid,
  round,
  scaled,
  serverCounters,
  sleep,
  spawnEntry,
  spawnVigilEntry,
  streamName,
  summarize,
  vigilEnv,
  vigilNodeFlags,
} from './support.js';

const CONCURRENCY = 50;
/** `stream-ref` and `polling-ref` run the scheduler of BENCH_REF_BUILD (see `REF_BUILD`). */
type Side = 'stream' | 'polling' | 'bullmq' | 'stream-ref' | 'polling-ref';

function numbers(text: string | undefined, fallback: number[]): number[] {
  const values = (text ?? '')
    .split(',')
    .map((t) => Number(t.trim()))
    .filter((n) => Number.isFinite(n) && n > 0);
  return values.length > 0 ? values : fallback;
}

interface SideResult {
  side: Side;
  monitors: number;
  periodSeconds: number;
  windowSeconds: number;
  expected: number;
  checks: number;
  checksPerSecond: number;
  missedSlots: number;
  failedChecks: number;
  lateness: Summary;
  /** CPU ms per check: the side's process, mysqld, redis-server, and the three together. */
  cpuMsPerCheck: { process: number | null; mysql: number | null; redis: number | null; total: number | null };
  coreShare: { process: number | null; mysql: number | null; redis: number | null; target: number | null };
  peakRssMb: number | null;
  setupSeconds: number;
  /** MySQL statements, commits, fsyncs and Redis commands per check. */
  perCheck: Record<string, number>;
}

interface Pids {
  mysql?: number | undefined;
  redis?: number | undefined;
  target: number;
}

/** Waits until t0, meters the window, then reads the runs of the window from task_runs. */
async function measureWindow(params: {
  side: Side;
  db: BenchDatabase;
  child: BenchChild;
  pids: Pids;
  t0: number;
  monitors: number;
  period: number;
  cycles: number;
  setupSeconds: number;
}): Promise<SideResult> {
  const { db, child, pids, t0, monitors, period, cycles } = params;
  await sleep(Math.max(0, t0 - Date.now()));
  const meter = new CpuMeter({ process: child.pid, mysql: pids.mysql, redis: pids.redis, target: pids.target });
  const countersBefore = await serverCounters();
  const windowMs = cycles * period * 1000;
  const end = t0 + windowMs;
  while (Date.now() < end) {
    if (!child.alive()) throw new Error(`${child.name} exited:\n${child.tail(15).join('\n')}`);
    await sleep(Math.min(2000, end - Date.now()));
  }
  const cpu = meter.end();
  const countersAfter = await serverCounters();
  const peak = memoryMb(child.pid)?.peak ?? null;
  const expected = monitors * cycles;
  // Slots at the very end of the window may still be running: give them a few seconds.
  const deadline = Date.now() + 15_000;
  let checks = 0;
  for (;;) {
    const { c } = await queryOne<{ c: number }>(db.pool, 'SELECT COUNT(*) AS c FROM task_runs WHERE slot >= ? AND slot < ? AND attempt = 1', [
      new Date(t0),
      new Date(end),
    ]);
    checks = Number(c);
    if (checks >= expected || Date.now() > deadline) break;
    await sleep(1000);
  }
  const [rows] = await db.pool.query(
    `SELECT TIMESTAMPDIFF(MICROSECOND, slot, started_at) / 1000 AS late, status FROM task_runs WHERE slot >= ? AND slot < ? AND attempt = 1`,
    [new Date(t0), new Date(end)],
  );
  const runs = rows as { late: string | number; status: string }[];
  const perCheck = (seconds: number | undefined) => (seconds === undefined ? null : round((seconds * 1000) / Math.max(1, checks), 3));
  const p = perCheck(cpu.process?.cpuSeconds);
  const m = perCheck(cpu.mysql?.cpuSeconds);
  const r = perCheck(cpu.redis?.cpuSeconds);
  const s = summarize(runs.map((x) => Number(x.late)));
  return {
    side: params.side,
    monitors,
    periodSeconds: period,
    windowSeconds: windowMs / 1000,
    expected,
    checks,
    checksPerSecond: round(checks / (windowMs / 1000), 0),
    missedSlots: Math.max(0, expected - checks),
    // Runs still under way when the window is read are not failures.
    failedChecks: runs.filter((x) => x.status !== 'succeeded' && x.status !== 'running').length,
    lateness: { count: s.count, p50: round(s.p50, 0), p99: round(s.p99, 0), max: round(s.max, 0), mean: round(s.mean, 0) },
    cpuMsPerCheck: { process: p, mysql: m, redis: r, total: p === null ? null : round(p + (m ?? 0) + (r ?? 0), 3) },
    coreShare: {
      process: cpu.process?.coreShare ?? null,
      mysql: cpu.mysql?.coreShare ?? null,
      redis: cpu.redis?.coreShare ?? null,
      target: cpu.target?.coreShare ?? null,
    },
    peakRssMb: peak === null ? null : round(peak, 0),
    setupSeconds: round(params.setupSeconds, 1),
    // Counted over the window and divided by the checks whose slot is in it (server-wide, like the CPU).
    perCheck: countersPer(countersBefore, countersAfter, checks),
  };
}

async function vigilSide(side: Exclude<Side, 'bullmq'>, monitors: number, period: number, cycles: number, url: string, pids: Pids): Promise<SideResult> {
  const setupStart = Date.now();
  const mode = side.startsWith('stream') ? 'stream' : 'polling';
  const db = await createBenchDatabase(`checks_${mode}`);
  const stream = streamName(`checks_${mode}`);
  try {
    const payload = JSON.stringify({ url });
    const loaded = await insertTasks(db.pool, { count: monitors, status: 'paused', every: period, type: 'http', payload, slotOf: () => new Date() });
    const child = spawnVigilEntry(`checks-scheduler-${side}`, 'cmd/scheduler/main.ts', side.endsWith('-ref'), {
      // Every monitor targets the one local server, and the peer spaces nothing per host: politeness is off, or it
      // would cap Vigil at APP_HOST_RATE checks a second.
      env: vigilEnv({ dsn: db.dsn, stream, mode, extra: { APP_HOST_CONCURRENCY: '0', APP_HOST_RATE: 'off' } }),
      toFile: true,
      nodeFlags: vigilNodeFlags(`checks-${side}`),
    });
    try {
      await waitForLog(child, /"msg":"scheduler started"/);
      const t0 = Math.ceil((Date.now() + 4000 + monitors / 20) / 1000) * 1000;
      const stepUs = Math.floor((period * 1e6) / monitors);
      await db.pool.query(
        `UPDATE tasks SET status = 'running', next_run_at = DATE_ADD(?, INTERVAL ((id - ?) * ?) MICROSECOND), run_after = next_run_at`,
        [new Date(t0), loaded.firstId, stepUs],
      );
      if (Date.now() > t0) process.stderr.write(`checks: ${mode}: the UPDATE committed ${Date.now() - t0} ms after t0\n`);
      return await measureWindow({ side, db, child, pids, t0, monitors, period, cycles, setupSeconds: (Date.now() - setupStart) / 1000 });
    } finally {
      await child.stop();
    }
  } finally {
    await db.drop();
    await deleteKeysContaining(stream);
  }
}

/** A child whose output goes to a file: polls its tail for a line. */
async function waitForLog(child: BenchChild, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!child.tail(200).some((l) => pattern.test(l))) {
    if (!child.alive()) throw new Error(`${child.name} exited:\n${child.tail(15).join('\n')}`);
    if (Date.now() > deadline) throw new Error(`${child.name} did not print ${pattern} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function bullSide(monitors: number, period: number, cycles: number, url: string, pids: Pids): Promise<SideResult> {
  const setupStart = Date.now();
  const db = await createBenchDatabase('checks_bullmq');
  const queueName = `vigil_bench_checks_${randomTag()}`;
  const queue = new Queue(queueName, { connection: { ...redisHostPort(), maxRetriesPerRequest: null } });
  try {
    // Task rows for the result rows' foreign key; nothing else reads them.
    const loaded = await insertTasks(db.pool, { count: monitors, status: 'paused', every: period, type: 'http', slotOf: () => new Date() });
    const child = spawnEntry('bullmq-checks', 'bench/bullmq-checks-worker.ts', [], {
      env: { QUEUE: queueName, REDIS_ADDR, MYSQL_DSN: db.dsn, MYSQL_POOL_SIZE: '10', CONCURRENCY: String(CONCURRENCY) },
    });
    try {
      await child.waitForLine(/^READY/);
      // Upserting takes a while at scale: t0 leaves room for it, so that every first slot is still ahead.
      const t0 = Math.ceil((Date.now() + 4000 + monitors / 2) / 1000) * 1000;
      const stepMs = (period * 1000) / monitors;
      for (let i = 0; i < monitors; i += 500) {
        const batch: Promise<unknown>[] = [];
        for (let j = i; j < Math.min(monitors, i + 500); j += 1) {
          batch.push(
            queue.upsertJobScheduler(
              `monitor-${j}`,
              { every: period * 1000, startDate: Math.round(t0 + j * stepMs) },
              { name: 'check', data: { taskId: loaded.firstId + j, url }, opts: { removeOnComplete: true, removeOnFail: 1000 } },
            ),
          );
        }
        await Promise.all(batch);
      }
      if (Date.now() > t0) process.stderr.write(`checks: bullmq: the job schedulers were upserted ${Date.now() - t0} ms after t0\n`);
      const failed = () => child.tail(2000).filter((l) => l.startsWith('FAILED')).length;
      const result = await measureWindow({ side: 'bullmq', db, child, pids, t0, monitors, period, cycles, setupSeconds: (Date.now() - setupStart) / 1000 });
      if (failed() > 0) process.stderr.write(`checks: bullmq: ${failed()} jobs failed, e.g. ${child.tail(2000).find((l) => l.startsWith('FAILED'))}\n`);
      return result;
    } finally {
      await child.stop();
    }
  } finally {
    await queue.close();
    await db.drop();
    await deleteKeysContaining(queueName);
  }
}

export async function runChecks(): Promise<BenchOutcome> {
  const counts = numbers(process.env.BENCH_CHECKS_MONITORS, [scaled(1000, 100)]);
  const periods = numbers(process.env.BENCH_CHECKS_PERIOD, [10]);
  const cycles = numbers(process.env.BENCH_CHECKS_CYCLES, [3])[0] as number;
  const sides = (process.env.BENCH_CHECKS_SIDES ?? 'stream,polling,bullmq').split(',').map((s) => s.trim()) as Side[];
  const port = await freePort();
  const target = spawnEntry('http-target', 'bench/http-target.ts', [], { env: { PORT: String(port) } });
  await target.waitForLine(/^READY/);
  const url = `http://127.0.0.1:${port}/health`;
  const pids: Pids = { mysql: await mysqlServerPid(), redis: await redisServerPid(), target: target.pid };
  const results: SideResult[] = [];
  const figures: Figure[] = [];
  try {
    for (const period of periods) {
      for (const monitors of counts) {
        const bySide: Partial<Record<Side, SideResult>> = {};
        for (const side of sides) {
          const r =
            side === 'bullmq' ? await bullSide(monitors, period, cycles, url, pids) : await vigilSide(side, monitors, period, cycles, url, pids);
          bySide[side] = r;
          results.push(r);
          process.stderr.write(
            `checks: ${side} ${monitors} every ${period} s: ${r.checksPerSecond} checks/s, missed ${r.missedSlots}, lateness p99 ${r.lateness.p99} ms, ` +
              `CPU/check ${r.cpuMsPerCheck.process} + mysql ${r.cpuMsPerCheck.mysql} + redis ${r.cpuMsPerCheck.redis} ms, peak RSS ${r.peakRssMb} MB\n`,
          );
          const label = `${side}, ${monitors} every ${period} s`;
          const vigil = side !== 'bullmq';
          figures.push(
            { metric: `${label}: checks/s (schedule N/P)`, value: r.checksPerSecond, unit: '/s', target: { op: '>=', value: round(monitors / period, 0) } },
            { metric: `${label}: missed slots`, value: r.missedSlots, unit: '', ...(vigil ? { target: { op: '<=' as const, value: 0 } } : {}) },
            { metric: `${label}: lateness p50`, value: round(r.lateness.p50 / 1000, 3), unit: 's' },
            { metric: `${label}: lateness p99`, value: round(r.lateness.p99 / 1000, 3), unit: 's', ...(vigil ? { target: { op: '<=' as const, value: 1 } } : {}) },
            { metric: `${label}: lateness max`, value: round(r.lateness.max / 1000, 3), unit: 's' },
            { metric: `${label}: CPU per check, ${vigil ? 'scheduler' : 'worker'}`, value: r.cpuMsPerCheck.process, unit: 'ms' },
            { metric: `${label}: CPU per check, mysqld`, value: r.cpuMsPerCheck.mysql, unit: 'ms' },
            { metric: `${label}: CPU per check, redis-server`, value: r.cpuMsPerCheck.redis, unit: 'ms' },
            { metric: `${label}: CPU per check, total`, value: r.cpuMsPerCheck.total, unit: 'ms' },
            { metric: `${label}: peak RSS`, value: r.peakRssMb, unit: 'MB', ...(vigil ? { target: { op: '<=' as const, value: 400 } } : {}) },
            { metric: `${label}: failed checks`, value: r.failedChecks, unit: '' },
            ...Object.entries(r.perCheck).map(([k, v]) => ({ metric: `${label}: ${k.replace(/^mysql\./, 'MySQL ').replace(/^redis\./, 'Redis ')} per check`, value: v, unit: '' })),
          );
        }
        for (const mode of ['stream', 'polling'] as const) {
          const now = bySide[mode]?.cpuMsPerCheck.total;
          const ref = bySide[`${mode}-ref`]?.cpuMsPerCheck.total;
          if (now == null || ref == null) continue;
          figures.push({ metric: `${mode} / ${mode}-ref, total CPU per check (${monitors} every ${period} s)`, value: round(now / ref, 2), unit: '×' });
        }
        const bull = bySide.bullmq;
        for (const mode of ['stream', 'polling'] as const) {
          const v = bySide[mode];
          if (v === undefined || bull === undefined || v.cpuMsPerCheck.total === null || bull.cpuMsPerCheck.total === null) continue;
          figures.push({
            metric: `${mode} / BullMQ, total CPU per check (${monitors} every ${period} s)`,
            value: round(v.cpuMsPerCheck.total / bull.cpuMsPerCheck.total, 2),
            unit: '×',
            target: { op: '<=', value: 0.67 },
          });
        }
      }
    }
  } finally {
    await target.stop();
  }
  return {
    figures,
    details: {
      cycles,
      concurrency: CONCURRENCY,
      note:
        'mysqld and redis-server CPU are server-wide: on a shared server they include other clients. Counts at which each side ' +
        'falls behind are found by raising BENCH_CHECKS_MONITORS until missed slots appear or lateness p99 passes 1 s.',
      results,
    },
  };
}
