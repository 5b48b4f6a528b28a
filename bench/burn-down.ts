/**
 * burn-down: 20,000 noop tasks, all due at once; the time until every one has a succeeded run.
 *
 * - Vigil, stream mode and polling mode: one cmd/scheduler child with APP_WORKER_POOL_SIZE=50. The tasks are
 *   bulk-inserted paused, the scheduler is started, and one UPDATE makes them all running and due (t0 is its
 *   commit). In stream mode the periodic publisher finds them and publishes them, as it would after downtime.
 * - BullMQ, one Worker at concurrency 50 in its own child, the jobs added beforehand, t0 when the worker starts:
 *   (i) per job, the work Vigil does to stay durable (read the task row, insert a run row, update the task's
 *   last-run fields) against the same MySQL; (ii) nothing, as the upper reference.
 */
import { Queue } from 'bullmq';
import {
  type BenchOutcome,
  CpuMeter,
  countersPer,
  type Figure,
  createBenchDatabase,
  deleteKeysContaining,
  insertTasks,
  mysqlServerPid,
  queryOne,
  randomTag,
  redisHostPort,
  redisServerPid,
  REDIS_ADDR,
  REF_BUILD,
  round,
  scaled,
  serverCounters,
  spawnEntry,
  spawnVigilEntry,
  streamName,
  vigilEnv,
  vigilNodeFlags,
  waitFor,
} from './support.js';

const POOL_SIZE = 50;

interface BurnResult {
  label: string;
  tasks: number;
  seconds: number;
  jobsPerSecond: number;
  /** From the first run's start to the last run's end (stream and polling only). */
  activeSeconds?: number;
  cpu: Record<string, { cpuSeconds: number; coreShare: number } | null>;
  /** Server statements, fsyncs and Redis commands per job (server-wide counters; see serverCounters). */
  perJob: Record<string, number>;
  check?: { runs: number; distinctTasks: number; retries: number; deadLetters: number };
}

async function vigilBurnDown(
  mode: 'stream' | 'polling',
  tasks: number,
  pids: { mysql?: number; redis?: number },
  ref = false,
): Promise<BurnResult> {
  const label = ref ? `${mode}-ref` : mode;
  const db = await createBenchDatabase(`burn_${mode}`);
  const stream = streamName(`burn_${mode}`);
  try {
    const loaded = await insertTasks(db.pool, { count: tasks, status: 'paused', every: 3600, slotOf: () => new Date() });
    if (loaded.count !== tasks) throw new Error(`inserted ${loaded.count} tasks, wanted ${tasks}`);
    const child = spawnVigilEntry(`scheduler-${label}`, 'cmd/scheduler/main.ts', ref, {
      env: vigilEnv({
        dsn: db.dsn,
        stream,
        mode,
        // Leases of 30 s: a burst on a busy two-core machine must not delay a heartbeat into a recovery re-run.
        extra: { APP_WORKER_POOL_SIZE: String(POOL_SIZE), APP_RECOVERY_TIMEOUT: '60s' },
      }),
      nodeFlags: vigilNodeFlags(`burn-down-${label}`),
    });
    try {
      await child.waitForLine(/"msg":"scheduler started"/);
      const meter = new CpuMeter({ scheduler: child.pid, mysql: pids.mysql, redis: pids.redis });
      const before = await serverCounters();
      const slot = new Date();
      await db.pool.query(`UPDATE tasks SET status = 'running', next_run_at = ?, run_after = ?`, [slot, slot]);
      const t0 = Date.now();
      await waitFor(
        async () => {
          if (!child.alive()) throw new Error(`the scheduler exited:\n${child.tail(15).join('\n')}`);
          const { c } = await queryOne<{ c: number }>(db.pool, `SELECT COUNT(*) AS c FROM task_runs WHERE status = 'succeeded'`);
          return Number(c) >= tasks;
        },
        { timeoutMs: Math.max(120_000, tasks * 20), intervalMs: 200, message: `${tasks} succeeded runs (${mode})` },
      );
      const cpu = meter.end();
      const perJob = countersPer(before, await serverCounters(), tasks);
      const stats = await queryOne<{ runs: number; tasks: number; retries: number; first: Date; last: Date }>(
        db.pool,
        `SELECT COUNT(*) AS runs, COUNT(DISTINCT task_id) AS tasks, SUM(attempt > 1) AS retries,
           MIN(started_at) AS first, MAX(finished_at) AS last FROM task_runs`,
      );
      const dead = await queryOne<{ c: number }>(db.pool, 'SELECT COUNT(*) AS c FROM dead_letters');
      const seconds = (stats.last.getTime() - t0) / 1000;
      return {
        label,
        tasks,
        seconds: round(seconds, 2),
        jobsPerSecond: round(tasks / seconds, 0),
        activeSeconds: round((stats.last.getTime() - stats.first.getTime()) / 1000, 2),
        cpu,
        perJob,
        check: { runs: Number(stats.runs), distinctTasks: Number(stats.tasks), retries: Number(stats.retries ?? 0), deadLetters: Number(dead.c) },
      };
    } finally {
      await child.stop();
    }
  } finally {
    await db.drop();
    await deleteKeysContaining(stream);
  }
}

async function bullBurnDown(work: 'durable' | 'noop', tasks: number, pids: { mysql?: number; redis?: number }): Promise<BurnResult> {
  const db = work === 'durable' ? await createBenchDatabase('burn_bullmq') : undefined;
  const queueName = `vigil_bench_bull_${work}_${randomTag()}`;
  const queue = new Queue<{ taskId: number }>(queueName, { connection: { ...redisHostPort(), maxRetriesPerRequest: null } });
  try {
    // The rows the durable worker reads and updates; nothing else looks at them.
    const loaded =
      db === undefined
        ? { firstId: 1 }
        : await insertTasks(db.pool, { count: tasks, status: 'paused', every: 3600, slotOf: () => new Date() });
    for (let i = 0; i < tasks; i += 1000) {
      const jobs = [];
      for (let j = i; j < Math.min(tasks, i + 1000); j += 1) {
        jobs.push({ name: 'noop', data: { taskId: loaded.firstId + j }, opts: { removeOnComplete: true, removeOnFail: 1000 } });
      }
      await queue.addBulk(jobs);
    }
    const child = spawnEntry(`bullmq-${work}`, 'bench/bullmq-worker.ts', [], {
      env: {
        QUEUE: queueName,
        REDIS_ADDR,
        CONCURRENCY: String(POOL_SIZE),
        EXPECT: String(tasks),
        WORK: work,
        MYSQL_DSN: db?.dsn ?? '',
        MYSQL_POOL_SIZE: '10',
      },
    });
    try {
      await child.waitForLine(/^READY/);
      const meter = new CpuMeter({ worker: child.pid, mysql: pids.mysql, redis: pids.redis });
      const before = await serverCounters();
      child.child.stdin?.write('GO\n');
      const done = await child.waitForLine(/^DONE /, Math.max(120_000, tasks * 20));
      const cpu = meter.end();
      const perJob = countersPer(before, await serverCounters(), tasks);
      const failed = child.tail(2000).filter((l) => l.startsWith('FAILED')).length;
      if (failed > 0) throw new Error(`${failed} BullMQ jobs failed: ${child.tail(2000).find((l) => l.startsWith('FAILED'))}`);
      const [, t0, tEnd] = done.split(' ').map(Number) as [number, number, number];
      const seconds = (tEnd - t0) / 1000;
      let check: BurnResult['check'];
      if (db !== undefined) {
        const runs = await queryOne<{ runs: number; tasks: number }>(db.pool, 'SELECT COUNT(*) AS runs, COUNT(DISTINCT task_id) AS tasks FROM task_runs');
        check = { runs: Number(runs.runs), distinctTasks: Number(runs.tasks), retries: 0, deadLetters: 0 };
      }
      return { label: `bullmq-${work}`, tasks, seconds: round(seconds, 2), jobsPerSecond: round(tasks / seconds, 0), cpu, perJob, ...(check ? { check } : {}) };
    } finally {
      await child.stop();
    }
  } finally {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await deleteKeysContaining(queueName);
    await db?.drop();
  }
}

export async function runBurnDown(): Promise<BenchOutcome> {
  const tasks = scaled(20_000, 500);
  const pids = { mysql: await mysqlServerPid(), redis: await redisServerPid() };
  const results: Record<string, BurnResult> = {};
  for (const mode of ['stream', 'polling'] as const) {
    // With BENCH_REF_BUILD, the reference build's scheduler burns the same backlog just before this tree's.
    for (const ref of REF_BUILD === undefined ? [false] : [true, false]) {
      const label = ref ? `${mode}-ref` : mode;
      results[label] = await vigilBurnDown(mode, tasks, pids, ref);
      process.stderr.write(`burn-down: ${label} ${results[label]?.jobsPerSecond} jobs/s\n`);
    }
  }
  for (const work of ['durable', 'noop'] as const) {
    results[`bullmq-${work}`] = await bullBurnDown(work, tasks, pids);
    process.stderr.write(`burn-down: bullmq ${work} ${results[`bullmq-${work}`]?.jobsPerSecond} jobs/s\n`);
  }
  const rate = (label: string) => results[label]?.jobsPerSecond ?? Number.NaN;
  for (const mode of Object.keys(results).filter((label) => !label.startsWith('bullmq'))) {
    const check = results[mode]?.check;
    if (check !== undefined && (check.runs !== tasks || check.distinctTasks !== tasks || check.deadLetters !== 0)) {
      throw new Error(`${mode}: expected ${tasks} runs of ${tasks} tasks, got ${JSON.stringify(check)}`);
    }
  }
  const refFigures: Figure[] =
    REF_BUILD === undefined
      ? []
      : (['stream', 'polling'] as const).map((mode) => ({ metric: `${mode} / ${mode}-ref`, value: round(rate(mode) / rate(`${mode}-ref`), 2), unit: '×' }));
  const figures: Figure[] = [
    ...refFigures,
    { metric: 'stream / BullMQ durable', value: round(rate('stream') / rate('bullmq-durable'), 2), unit: '×', target: { op: '>=', value: 2 } },
    { metric: 'stream / BullMQ no-op', value: round(rate('stream') / rate('bullmq-noop'), 2), unit: '×', target: { op: '>=', value: 0.5 } },
    { metric: 'polling / BullMQ durable', value: round(rate('polling') / rate('bullmq-durable'), 2), unit: '×' },
    { metric: 'polling / BullMQ no-op', value: round(rate('polling') / rate('bullmq-noop'), 2), unit: '×' },
    { metric: 'Vigil stream', value: rate('stream'), unit: 'jobs/s', note: `${results.stream?.seconds} s from t0 to the last run, ${results.stream?.activeSeconds} s from the first start` },
    { metric: 'Vigil polling', value: rate('polling'), unit: 'jobs/s', note: `${results.polling?.seconds} s from t0 to the last run, ${results.polling?.activeSeconds} s from the first start` },
    { metric: 'BullMQ durable (c=50)', value: rate('bullmq-durable'), unit: 'jobs/s' },
    { metric: 'BullMQ no-op (c=50)', value: rate('bullmq-noop'), unit: 'jobs/s' },
    ...[...(REF_BUILD === undefined ? [] : ['stream-ref', 'polling-ref']), 'stream', 'polling', 'bullmq-durable', 'bullmq-noop'].flatMap((label): Figure[] => {
      const r = results[label];
      const proc = label.startsWith('bullmq') ? 'worker' : 'scheduler';
      const perJobMs = (name: string) => {
        const cpu = r?.cpu[name];
        return cpu === undefined || cpu === null || r === undefined ? null : round((cpu.cpuSeconds * 1000) / r.tasks, 2);
      };
      const rows: Figure[] = [
        { metric: `${label}: ${proc} CPU per job`, value: perJobMs(proc), unit: 'ms' },
        { metric: `${label}: MySQL server CPU per job`, value: perJobMs('mysql'), unit: 'ms' },
        { metric: `${label}: Redis server CPU per job`, value: perJobMs('redis'), unit: 'ms' },
      ];
      if (label !== 'bullmq-noop') {
        rows.push(
          { metric: `${label}: MySQL statements per job`, value: r?.perJob['mysql.Questions'] ?? null, unit: '' },
          { metric: `${label}: MySQL COMMIT statements per job`, value: r?.perJob['mysql.Com_commit'] ?? null, unit: '' },
          { metric: `${label}: InnoDB fsyncs per job`, value: r?.perJob['mysql.Innodb_data_fsyncs'] ?? null, unit: '' },
          { metric: `${label}: MySQL bytes received per job`, value: r?.perJob['mysql.Bytes_received'] ?? null, unit: 'B' },
          { metric: `${label}: MySQL bytes sent per job`, value: r?.perJob['mysql.Bytes_sent'] ?? null, unit: 'B' },
        );
      }
      rows.push({ metric: `${label}: Redis commands per job`, value: r?.perJob['redis.commands'] ?? null, unit: '' });
      return rows;
    }),
  ];
  return { figures, details: { tasks, poolSize: POOL_SIZE, results } };
}
