/**
 * The framework's own limit for the api-create benchmark (issue 17 item 1): a bare express 5 app that parses the
 * same JSON body as `POST /tasks` and answers 201 with a task-shaped JSON, with no I/O at all (no database, no
 * Redis, no log, no validation). Whatever Vigil does beyond HTTP parsing, routing and JSON shows as the gap to it.
 * Configured by PORT.
 *
 * Usage: node --import tsx bench/bare-server.ts
 */
import express from 'express';

const port = Number(process.env.PORT ?? '0');
let nextId = 1;

const app = express();
app.use(express.json());
app.post('/tasks', (req, res) => {
  const { name, type, payload = {}, schedule } = req.body as { name: string; type: string; payload?: object; schedule: { every: number } };
  const now = new Date().toISOString();
  res.status(201).json({ id: nextId++, name, type, payload, schedule, status: 'running', next_run_at: now, queued_via: 'none' });
});

const server = app.listen(port, '127.0.0.1', () => process.stdout.write(`READY ${port}\n`));
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
