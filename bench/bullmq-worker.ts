/**
 * The BullMQ side of the burn-down benchmark: one Worker at the given concurrency, in its own process, that
 * starts when told (a `GO` line on stdin) and prints `DONE <t0> <tEnd> <count>` once EXPECT jobs completed.
 *
 *   WORK=noop     the processor does nothing (the upper reference);
 *   WORK=durable  per job, the work Vigil does to stay durable, against the same MySQL: read the task row,
 *                 insert a run row, update the task's last-run fields (mysql2, same pool size as Vigil).
 *
 * Configured by QUEUE, REDIS_ADDR, CONCURRENCY, EXPECT, WORK, MYSQL_DSN (durable) and MYSQL_POOL_SIZE.
 * Usage: node --import tsx bench/bullmq-worker.ts
 */
import { hostname } from 'node:os';
import { createInterface } from 'node:readline';
import { type Job, Worker } from 'bullmq';
import { createPool } from 'mysql2/promise';

const env = (name: string) => process.env[name] ?? '';
const expected = Number(env('EXPECT'));
const durable = env('WORK') === 'durable';
const [host, port] = env('REDIS_ADDR').split(':');
const pool = durable
  ? createPool({ uri: env('MYSQL_DSN'), connectionLimit: Number(env('MYSQL_POOL_SIZE') || 10), timezone: 'Z' })
  : undefined;
const workerId = `${hostname()}:${process.pid}:bullmq`;

async function durableWork(job: Job<{ taskId: number }>): Promise<void> {
  if (pool === undefined) return;
  const startedAt = new Date();
  const [rows] = await pool.execute('SELECT * FROM tasks WHERE id = ?', [job.data.taskId]);
  const task = (rows as { id: number; next_run_at: Date; schedule_every: number }[])[0];
  if (task === undefined) throw new Error(`task ${job.data.taskId} not found`);
  const finishedAt = new Date();
  await pool.execute(
    `INSERT INTO task_runs (task_id, slot, attempt, source, status, started_at, finished_at, duration_ms, worker, output)
     VALUES (?, ?, 1, 'periodic', 'succeeded', ?, ?, ?, ?, ?)`,
    [task.id, task.next_run_at, startedAt, finishedAt, finishedAt.getTime() - startedAt.getTime(), workerId, '{"ok":true}'],
  );
  const next = new Date(task.next_run_at.getTime() + task.schedule_every * 1000);
  await pool.execute(
    `UPDATE tasks SET last_run_at = ?, last_status = 'succeeded', next_run_at = ?, run_after = ?, updated_at = ? WHERE id = ?`,
    [startedAt, next, next, finishedAt, task.id],
  );
}

const worker = new Worker<{ taskId: number }>(env('QUEUE'), durable ? durableWork : async () => undefined, {
  connection: { host, port: Number(port), maxRetriesPerRequest: null },
  concurrency: Number(env('CONCURRENCY') || 50),
  autorun: false,
});
let completed = 0;
let t0 = 0;
worker.on('completed', () => {
  completed += 1;
  if (completed === expected) process.stdout.write(`DONE ${t0} ${Date.now()} ${completed}\n`);
});
worker.on('failed', (job, err) => process.stdout.write(`FAILED ${job?.id ?? '?'} ${err.message}\n`));
await worker.waitUntilReady();
process.stdout.write('READY\n');

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() !== 'GO' || t0 !== 0) return;
  t0 = Date.now();
  void worker.run();
});

const stop = () => {
  lines.close();
  void worker
    .close()
    .then(() => pool?.end())
    .finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
