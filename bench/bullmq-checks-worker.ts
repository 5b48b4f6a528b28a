/**
 * The BullMQ side of the checks benchmark: a Worker whose job (one per slot of a job scheduler made with
 * `upsertJobScheduler`) does what a Vigil `http` run does at its core, a GET with undici of the job's URL, and writes
 * one result row to MySQL (`task_runs`, as Vigil records a run), with the job's slot, so that lateness is read from
 * the same table the same way on both sides. Configured by QUEUE, REDIS_ADDR, MYSQL_DSN, MYSQL_POOL_SIZE and
 * CONCURRENCY; prints READY once connected.
 *
 * Usage: node --import tsx bench/bullmq-checks-worker.ts
 */
import { hostname } from 'node:os';
import { type Job, Worker } from 'bullmq';
import { createPool } from 'mysql2/promise';
import { request } from 'undici';

const env = (name: string) => process.env[name] ?? '';
const [host, port] = env('REDIS_ADDR').split(':');
const pool = createPool({ uri: env('MYSQL_DSN'), connectionLimit: Number(env('MYSQL_POOL_SIZE') || 10), timezone: 'Z' });
const workerId = `${hostname()}:${process.pid}:bullmq`;

/** A job scheduler's job id is `repeat:<scheduler id>:<slot in ms>`; other jobs fall back to their due time. */
function slotOf(job: Job): number {
  const millis = Number(/:(\d+)$/.exec(job.id ?? '')?.[1]);
  return Number.isFinite(millis) && millis > 0 ? millis : job.timestamp + (job.delay ?? 0);
}

async function check(job: Job<{ taskId: number; url: string }>): Promise<void> {
  const startedAt = new Date();
  let status = 'succeeded';
  let output = '';
  try {
    const res = await request(job.data.url, { method: 'GET', headersTimeout: 10_000, bodyTimeout: 10_000 });
    const text = await res.body.text();
    output = JSON.stringify({ status_code: res.statusCode, bytes: text.length });
    if (res.statusCode < 200 || res.statusCode >= 400) status = 'failed';
  } catch (err) {
    status = 'failed';
    output = JSON.stringify({ error: (err as Error).message });
  }
  const finishedAt = new Date();
  await pool.execute(
    `INSERT INTO task_runs (task_id, slot, attempt, source, status, started_at, finished_at, duration_ms, worker, output)
     VALUES (?, ?, 1, 'periodic', ?, ?, ?, ?, ?, ?)`,
    [job.data.taskId, new Date(slotOf(job)), status, startedAt, finishedAt, finishedAt.getTime() - startedAt.getTime(), workerId, output],
  );
}

const worker = new Worker<{ taskId: number; url: string }>(env('QUEUE'), check, {
  connection: { host, port: Number(port), maxRetriesPerRequest: null },
  concurrency: Number(env('CONCURRENCY') || 50),
  removeOnComplete: { count: 0 },
  removeOnFail: { count: 1000 },
});
worker.on('failed', (job, err) => process.stdout.write(`FAILED ${job?.id ?? '?'} ${err.message}\n`));
await worker.waitUntilReady();
process.stdout.write('READY\n');

const stop = () => {
  void worker
    .close()
    .then(() => pool.end())
    .finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
