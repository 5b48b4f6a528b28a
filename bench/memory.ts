/**
 * memory (issue 17 item 4): the scheduler's RSS with idle tasks, and its growth per 10,000 tasks.
 *
 * One cmd/scheduler child (stream mode, default settings) starts on an empty database; running `noop` tasks every
 * hour whose first slot is an hour or more ahead (so none runs during the benchmark) are added 10,000 at a time up
 * to 100,000 (× BENCH_SCALE), and the scheduler's RSS is read after each step has settled (a few publisher and
 * poller ticks). The growth per 10,000 is the least-squares slope of RSS over the task count. Then a second
 * scheduler is started on the full table, as after a restart, and its RSS and peak RSS read the same way.
 * BENCH_MEMORY_MODE=polling measures polling mode instead.
 */
import {
  type BenchOutcome,
  type Figure,
  createBenchDatabase,
  deleteKeysContaining,
  insertTasks,
  memoryMb,
  queryOne,
  round,
  scaled,
  sleep,
  spawnEntry,
  streamName,
  vigilEnv,
  vigilNodeFlags,
} from './support.js';

const SETTLE_MS = 5000;

/** Least-squares slope of y over x. */
function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.x, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  const num = points.reduce((a, p) => a + (p.x - mx) * (p.y - my), 0);
  const den = points.reduce((a, p) => a + (p.x - mx) ** 2, 0);
  return den === 0 ? Number.NaN : num / den;
}

export async function runMemory(): Promise<BenchOutcome> {
  const mode = process.env.BENCH_MEMORY_MODE === 'polling' ? 'polling' : 'stream';
  const total = scaled(100_000, 10_000);
  const step = Math.max(1000, Math.round(total / 10));
  const db = await createBenchDatabase(`memory_${mode}`);
  const stream = streamName(`memory_${mode}`);
  const trace: { tasks: number; rssMb: number }[] = [];
  try {
    const start = (label: string) =>
      spawnEntry(`memory-scheduler-${label}`, 'cmd/scheduler/main.ts', [], {
        env: vigilEnv({ dsn: db.dsn, stream, mode }),
        nodeFlags: vigilNodeFlags(`memory-${label}`),
      });
    const rssOf = (pid: number) => round(memoryMb(pid)?.rss ?? Number.NaN, 1);
    const growing = start('growing');
    let restarted: ReturnType<typeof start> | undefined;
    try {
      await growing.waitForLine(/"msg":"scheduler started"/);
      await sleep(SETTLE_MS);
      trace.push({ tasks: 0, rssMb: rssOf(growing.pid) });
      const base = Date.now() + 3_600_000;
      for (let loaded = 0; loaded < total; loaded += step) {
        const count = Math.min(step, total - loaded);
        // Slots spread over the hour after the next one: nothing is due while the benchmark runs.
        await insertTasks(db.pool, { count, status: 'running', every: 3600, slotOf: (i) => new Date(base + ((loaded + i) * 3_600_000) / total) });
        await sleep(SETTLE_MS);
        if (!growing.alive()) throw new Error(`the scheduler exited:\n${growing.tail(15).join('\n')}`);
        trace.push({ tasks: loaded + count, rssMb: rssOf(growing.pid) });
        process.stderr.write(`memory: ${loaded + count} idle tasks: RSS ${trace[trace.length - 1]?.rssMb} MB\n`);
      }
      const grownPeak = round(memoryMb(growing.pid)?.peak ?? Number.NaN, 1);
      await growing.stop();
      restarted = start('restarted');
      await restarted.waitForLine(/"msg":"scheduler started"/);
      await sleep(SETTLE_MS * 2);
      const restartRss = rssOf(restarted.pid);
      const restartPeak = round(memoryMb(restarted.pid)?.peak ?? Number.NaN, 1);
      const { c } = await queryOne<{ c: number }>(db.pool, 'SELECT COUNT(*) AS c FROM task_runs');
      const perTenThousand = round(slope(trace.map((t) => ({ x: t.tasks, y: t.rssMb }))) * 10_000, 2);
      const last = trace[trace.length - 1] as { tasks: number; rssMb: number };
      const figures: Figure[] = [
        { metric: `${mode}: scheduler RSS, ${last.tasks.toLocaleString('en-US')} idle tasks (added while running)`, value: last.rssMb, unit: 'MB', target: { op: '<=', value: 400 } },
        { metric: `${mode}: scheduler RSS, no task`, value: trace[0]?.rssMb ?? null, unit: 'MB' },
        { metric: `${mode}: RSS growth per 10,000 idle tasks (least squares)`, value: perTenThousand, unit: 'MB' },
        { metric: `${mode}: peak RSS while they were added`, value: grownPeak, unit: 'MB' },
        { metric: `${mode}: scheduler RSS after a restart on ${last.tasks.toLocaleString('en-US')} tasks`, value: restartRss, unit: 'MB', target: { op: '<=', value: 400 } },
        { metric: `${mode}: peak RSS of that restart`, value: restartPeak, unit: 'MB' },
        { metric: 'runs during the benchmark (must be 0: the tasks are idle)', value: Number(c ?? 0), unit: '', target: { op: '<=', value: 0 } },
      ];
      return { figures, details: { mode, total, step, settleMs: SETTLE_MS, trace } };
    } finally {
      await growing.stop();
      await restarted?.stop();
    }
  } finally {
    await db.drop();
    await deleteKeysContaining(stream);
  }
}
