/**
 * The naive baseline of the api-create benchmark: an express handler doing the same INSERT and XADD as
 * `POST /tasks`, with mysql2 and ioredis and the same pool size, and nothing else (no validation, no idempotency,
 * no request log, no metrics). Configured by MYSQL_DSN, REDIS_ADDR, STREAM, PORT and MYSQL_POOL_SIZE.
 *
 * Usage: node --import tsx bench/baseline-server.ts
 */
import express from 'express';
import { Redis } from 'ioredis';
import { createPool } from 'mysql2/promise';

const env = (name: string) => process.env[name] ?? '';
const pool = createPool({ uri: env('MYSQL_DSN'), connectionLimit: Number(env('MYSQL_POOL_SIZE') || 10), timezone: 'Z' });
const [host, port] = env('REDIS_ADDR').split(':');
const redis = new Redis({ host, port: Number(port) });
const stream = `{${env('STREAM')}}:p3`;

const app = express();
app.use(express.json());
app.post('/tasks', async (req, res) => {
  const { name, type, payload = {}, schedule } = req.body as { name: string; type: string; payload?: object; schedule: { every: number } };
  const now = new Date();
  const [result] = await pool.execute(
    `INSERT INTO tasks (name, type, payload, schedule_every, priority, timeout_ms, max_attempts, status, next_run_at,
       run_after, attempts, queued_until, created_at, updated_at) VALUES (?, ?, ?, ?, 3, 30000, 3, 'running', ?, ?, 0, ?, ?, ?)`,
    [name, type, JSON.stringify(payload), schedule.every, now, now, new Date(now.getTime() + 30_000), now, now],
  );
  const id = (result as { insertId: number }).insertId;
  await redis.xadd(stream, '*', 'task_id', String(id), 'slot', now.toISOString(), 'source', 'api', 'enqueued_at', now.toISOString());
  res.status(201).json({ id, name, type, payload, schedule, status: 'running', next_run_at: now.toISOString(), queued_via: 'stream' });
});

const server = app.listen(Number(env('PORT')), '127.0.0.1', () => process.stdout.write(`READY ${env('PORT')}\n`));
const stop = () => {
  server.close(() => void Promise.all([pool.end(), redis.quit()]).finally(() => process.exit(0)));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
