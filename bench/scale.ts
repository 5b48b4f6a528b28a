/**
 * scale: 100,000 running tasks every 60 s, slots spread evenly across the minute, for 3 cycles, in each mode,
 * with one cmd/scheduler child (default settings). Reported: executions per second, schedule lateness (a run's
 * started_at minus its slot, from task_runs) p50/p99/max, the scheduler's CPU share over the cycles and its peak
 * RSS (VmHWM).
 *
 * The tasks are bulk-inserted paused, the scheduler is started, then one UPDATE makes them running with slots
 * t0 + i × 60 s / N; the cycles are measured from t0. BENCH_SCALE scales the task count and, below 1, the period
 * (at least 10 s), so that a quick run keeps about the same rate.
 */
import {
  type BenchOutcome,
  CpuMeter,
  type Figure,
  type Summary,
  createBenchDatabase,
  deleteKeysContaining,
  insertTasks,
  memoryMb,
  mysqlServerPid,
  queryOne,
  redisServerPid,
  round,
  SCALE,
  scaled,
  sleep,
  REF_BUILD,
  spawnVigilEntry,
  streamName,
  summarize,
  vigilEnv,
  vigilNodeFlags,
} from './support.js';

const CYCLES = 3;

interface ModeResult {
  tasks: number;
  everySeconds: number;
  windowSeconds: number;
  expectedExecutions: number;
  executions: number;
  executionsPerSecond: number;
  /** Slots in the window that never ran (missed slots collapse into one run, so a late scheduler skips some). */
  missedSlots: number;
  lateness: Summary;
  latenessByCycle: Summary[];
  scheduler: { coreShare: number | null; cpuSeconds: number | null; peakRssMb: number | null; rssTraceMb: number[] };
  mysqlCoreShare: number | null;
  redisCoreShare: number | null;
  failedRuns: number;
  loadSeconds: number;
}

async function measureMode(mode: 'stream' | 'polling', pids: { mysql?: number; redis?: number }, ref = false): Promise<ModeResult> {
  const label = ref ? `${mode}-ref` : mode;
  const tasks = scaled(100_000, 1000);
  const every = Math.max(10, Math.round(60 * Math.min(1, SCALE)));
  const db = await createBenchDatabase(`scale_${mode}`);
  const stream = streamName(`scale_${mode}`);
  try {
    const loadStart = Date.now();
    const loaded = await insertTasks(db.pool, { count: tasks, status: 'paused', every, slotOf: () => new Date() });
    if (loaded.count !== tasks) throw new Error(`inserted ${loaded.count} tasks, wanted ${tasks}`);
    const loadSeconds = (Date.now() - loadStart) / 1000;
    const child = spawnVigilEntry(`scale-scheduler-${label}`, 'cmd/scheduler/main.ts', ref, {
      env: vigilEnv({ dsn: db.dsn, stream, mode }),
      nodeFlags: vigilNodeFlags(`scale-${label}`),
    });
    try {
      await child.waitForLine(/"msg":"scheduler started"/);
      // Slots start far enough ahead for the UPDATE of every row to commit first.
      const lead = 4000 + tasks / 20;
      const t0 = new Date(Math.ceil((Date.now() + lead) / 1000) * 1000);
      const stepUs = Math.floor((every * 1e6) / tasks);
      await db.pool.query(
        `UPDATE tasks SET status = 'running', next_run_at = DATE_ADD(?, INTERVAL ((id - ?) * ?) MICROSECOND), run_after = next_run_at`,
        [t0, loaded.firstId, stepUs],
      );
      const committed = Date.now();
      if (committed > t0.getTime()) {
        process.stderr.write(`scale: the UPDATE committed ${committed - t0.getTime()} ms after t0; early slots start late\n`);
      }
      await sleep(Math.max(0, t0.getTime() - Date.now()));
      const meter = new CpuMeter({ scheduler: child.pid, mysql: pids.mysql, redis: pids.redis });
      const windowMs = CYCLES * every * 1000;
      const end = t0.getTime() + windowMs;
      const rssTrace: number[] = [];
      while (Date.now() < end) {
        if (!child.alive()) throw new Error(`the scheduler exited:\n${child.tail(15).join('\n')}`);
        await sleep(Math.min(5000, end - Date.now()));
        const mem = memoryMb(child.pid);
        if (mem !== undefined) rssTrace.push(round(mem.rss, 0));
      }
      const cpu = meter.end();
      const peak = memoryMb(child.pid)?.peak ?? null;
      // Slots at the very end of the window may still be starting: give them a few seconds.
      const windowEnd = new Date(end);
      const deadline = Date.now() + 15_000;
      let executions = 0;
      for (;;) {
        const { c } = await queryOne<{ c: number }>(
          db.pool,
          'SELECT COUNT(*) AS c FROM task_runs WHERE slot >= ? AND slot < ? AND attempt = 1',
          [t0, windowEnd],
        );
        executions = Number(c);
        if (executions >= tasks * CYCLES || Date.now() > deadline) break;
        await sleep(1000);
      }
      const [rows] = await db.pool.query(
        `SELECT TIMESTAMPDIFF(MICROSECOND, slot, started_at) / 1000 AS late, slot FROM task_runs
         WHERE slot >= ? AND slot < ? AND attempt = 1`,
        [t0, windowEnd],
      );
      const runs = rows as { late: string | number; slot: Date }[];
      const late = runs.map((r) => Number(r.late));
      const byCycle: number[][] = Array.from({ length: CYCLES }, () => []);
      for (const r of runs) {
        const cycle = Math.min(CYCLES - 1, Math.floor((r.slot.getTime() - t0.getTime()) / (every * 1000)));
        byCycle[cycle]?.push(Number(r.late));
      }
      const failed = await queryOne<{ c: number }>(db.pool, `SELECT COUNT(*) AS c FROM task_runs WHERE status <> 'succeeded'`);
      return {
        tasks,
        everySeconds: every,
        windowSeconds: windowMs / 1000,
        expectedExecutions: tasks * CYCLES,
        executions,
        executionsPerSecond: round(executions / (windowMs / 1000), 0),
        missedSlots: tasks * CYCLES - executions,
        lateness: roundSummary(summarize(late)),
        latenessByCycle: byCycle.map((c) => roundSummary(summarize(c))),
        scheduler: {
          coreShare: cpu.scheduler?.coreShare ?? null,
          cpuSeconds: cpu.scheduler?.cpuSeconds ?? null,
          peakRssMb: peak === null ? null : round(peak, 0),
          rssTraceMb: rssTrace,
        },
        mysqlCoreShare: cpu.mysql?.coreShare ?? null,
        redisCoreShare: cpu.redis?.coreShare ?? null,
        failedRuns: Number(failed.c),
        loadSeconds: round(loadSeconds, 1),
      };
    } finally {
      await child.stop();
    }
  } finally {
    await db.drop();
    await deleteKeysContaining(stream);
  }
}

function roundSummary(s: Summary): Summary {
  return { count: s.count, p50: round(s.p50, 0), p99: round(s.p99, 0), max: round(s.max, 0), mean: round(s.mean, 0) };
}

export async function runScale(): Promise<BenchOutcome> {
  const pids = { mysql: await mysqlServerPid(), redis: await redisServerPid() };
  const results: Record<string, ModeResult> = {};
  const figures: Figure[] = [];
  // With BENCH_REF_BUILD, the reference build's scheduler runs each mode just before this tree's (see `REF_BUILD`).
  const modes = (process.env.BENCH_SCALE_MODES ?? 'stream,polling').split(',').map((m) => m.trim()) as ('stream' | 'polling')[];
  const runs = modes.flatMap((mode) => (REF_BUILD === undefined ? [false] : [true, false]).map((ref) => ({ mode, ref })));
  for (const { mode: m, ref } of runs) {
    const r = await measureMode(m, pids, ref);
    const mode = ref ? `${m}-ref` : m;
    results[mode] = r;
    process.stderr.write(`scale: ${mode} ${r.executionsPerSecond} executions/s, lateness p99 ${r.lateness.p99} ms\n`);
    figures.push(
      { metric: `${mode}: lateness p99`, value: round(r.lateness.p99 / 1000, 2), unit: 's', target: { op: '<=', value: 1 } },
      { metric: `${mode}: scheduler peak RSS`, value: r.scheduler.peakRssMb, unit: 'MB', target: { op: '<=', value: 300 } },
      // Not one of the targets: what the schedule asks for (N tasks / period), to show whether it keeps up.
      { metric: `${mode}: executions per second (schedule: N/period)`, value: r.executionsPerSecond, unit: '/s', target: { op: '>=', value: round(r.tasks / r.everySeconds, 0) } },
      { metric: `${mode}: lateness p50`, value: round(r.lateness.p50 / 1000, 2), unit: 's' },
      { metric: `${mode}: lateness max`, value: round(r.lateness.max / 1000, 2), unit: 's' },
      { metric: `${mode}: missed slots`, value: r.missedSlots, unit: '', target: { op: '<=', value: 0 } },
      { metric: `${mode}: scheduler CPU (share of one core)`, value: r.scheduler.coreShare, unit: '' },
      { metric: `${mode}: scheduler CPU per execution`, value: r.scheduler.cpuSeconds === null ? null : round((r.scheduler.cpuSeconds * 1000) / Math.max(1, r.executions), 2), unit: 'ms' },
      { metric: `${mode}: MySQL server CPU (share of one core)`, value: r.mysqlCoreShare, unit: '' },
    );
  }
  return { figures, details: { cycles: CYCLES, results } };
}
