/**
 * latency: from `POST /tasks` to the handler starting, over 2,000 tasks created at 100/s, in each mode.
 *
 * Two Vigil children, as deployed with docker compose: an API (APP_RUN_SCHEDULER=false) and a scheduler, both
 * bench/vigil-process.ts with the `bench_probe` type, whose handler prints `START <taskId> <epochMs>`. This
 * process sends the creates on a fixed schedule (open loop: a slow answer does not delay the next request) and
 * notes when each was sent. Both clocks are this machine's clock.
 */
import {
  type BenchOutcome,
  type Figure,
  type Summary,
  createBenchDatabase,
  deleteKeysContaining,
  freePort,
  round,
  scaled,
  sleep,
  spawnEntry,
  streamName,
  summarize,
  vigilEnv,
  vigilNodeFlags,
  waitFor,
  waitHttpOk,
} from './support.js';

const RATE = 100;
/** The default APP_SCHEDULE_INTERVAL, which both children use. */
const TICK_MS = 1000;

interface ModeResult {
  tasks: number;
  latency: Summary;
  /** How long `POST /tasks` took to answer. */
  createResponse: Summary;
  /** From the 201 arriving to the handler starting (the scheduler's share; negative when the run started first). */
  afterAnswer: Summary;
  queuedVia: Record<string, number>;
  /** Creates answered with something other than 201. */
  failures: number;
}

async function measureMode(mode: 'stream' | 'polling', tasks: number, warmup: number): Promise<ModeResult> {
  const db = await createBenchDatabase(`latency_${mode}`);
  const stream = streamName(`latency_${mode}`);
  const port = await freePort();
  const env = (extra: Record<string, string>) => vigilEnv({ dsn: db.dsn, stream, mode, extra });
  const scheduler = spawnEntry(`latency-scheduler-${mode}`, 'bench/vigil-process.ts', ['scheduler'], {
    env: env({}),
    nodeFlags: vigilNodeFlags(`latency-${mode}-scheduler`),
  });
  const api = spawnEntry(`latency-api-${mode}`, 'bench/vigil-process.ts', ['api'], {
    env: env({ APP_RUN_SCHEDULER: 'false', APP_HTTP_ADDR: `127.0.0.1:${port}` }),
    toFile: true,
    nodeFlags: vigilNodeFlags(`latency-${mode}-api`),
  });
  const starts = new Map<number, number>();
  scheduler.onLine((line) => {
    if (!line.startsWith('START ')) return;
    const [, id, at] = line.split(' ');
    starts.set(Number(id), Number(at));
  });
  try {
    await scheduler.waitForLine(/^READY/);
    await waitHttpOk(`http://127.0.0.1:${port}/readyz`);

    const send = async (count: number, label: string) => {
      const sent = new Map<number, number>();
      const answeredAt = new Map<number, number>();
      const answered: number[] = [];
      const via: Record<string, number> = {};
      let failures = 0;
      const inFlight: Promise<void>[] = [];
      const begin = Date.now() + 50;
      for (let i = 0; i < count; i += 1) {
        const due = begin + (i * 1000) / RATE;
        const wait = due - Date.now();
        if (wait > 0) await sleep(wait);
        inFlight.push(
          (async () => {
            const at = Date.now();
            try {
              const res = await fetch(`http://127.0.0.1:${port}/tasks`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ name: `${label} ${i}`, type: 'bench_probe', schedule: { every: 3600 } }),
              });
              const body = (await res.json()) as { id?: number; queued_via?: string };
              const answerAt = Date.now();
              answered.push(answerAt - at);
              if (res.status !== 201 || body.id === undefined) {
                failures += 1;
                return;
              }
              sent.set(body.id, at);
              answeredAt.set(body.id, answerAt);
              via[body.queued_via ?? '?'] = (via[body.queued_via ?? '?'] ?? 0) + 1;
            } catch {
              failures += 1;
            }
          })(),
        );
      }
      await Promise.all(inFlight);
      await waitFor(() => [...sent.keys()].every((id) => starts.has(id)), {
        timeoutMs: 60_000,
        intervalMs: 50,
        message: `the handler of every ${label} task to start (${mode})`,
      });
      return { sent, answeredAt, answered, via, failures };
    };

    // Warm-up (JIT, connection pools), then the measured run.
    await send(warmup, 'warmup');
    const run = await send(tasks, 'latency');
    const latencies = [...run.sent].map(([id, at]) => (starts.get(id) as number) - at);
    const afterAnswer = [...run.answeredAt].map(([id, at]) => (starts.get(id) as number) - at);
    return {
      tasks,
      latency: summarize(latencies),
      createResponse: summarize(run.answered),
      afterAnswer: summarize(afterAnswer),
      queuedVia: run.via,
      failures: run.failures,
    };
  } finally {
    await api.stop();
    await scheduler.stop();
    await db.drop();
    await deleteKeysContaining(stream);
  }
}

export async function runLatency(): Promise<BenchOutcome> {
  const tasks = scaled(2000, 100);
  const warmup = scaled(200, 20);
  const results: Record<string, ModeResult> = {};
  for (const mode of ['stream', 'polling'] as const) {
    results[mode] = await measureMode(mode, tasks, warmup);
    process.stderr.write(`latency: ${mode} p99 ${results[mode]?.latency.p99} ms\n`);
  }
  const s = results.stream as ModeResult;
  const p = results.polling as ModeResult;
  const figures: Figure[] = [
    { metric: 'stream p99', value: s.latency.p99, unit: 'ms', target: { op: '<=', value: 20 } },
    { metric: 'stream p50', value: s.latency.p50, unit: 'ms' },
    { metric: 'stream max', value: s.latency.max, unit: 'ms' },
    { metric: `polling p99 (tick ${TICK_MS} ms)`, value: p.latency.p99, unit: 'ms', target: { op: '<=', value: TICK_MS + 20 } },
    { metric: 'polling p50', value: p.latency.p50, unit: 'ms' },
    { metric: 'polling max', value: p.latency.max, unit: 'ms' },
    { metric: 'stream: POST /tasks p99', value: s.createResponse.p99, unit: 'ms' },
    { metric: 'polling: POST /tasks p99', value: p.createResponse.p99, unit: 'ms' },
    { metric: 'stream: 201 received → handler start p99', value: s.afterAnswer.p99, unit: 'ms' },
    { metric: 'failed creates', value: s.failures + p.failures, unit: '', target: { op: '<=', value: 0 } },
  ];
  return {
    figures,
    details: {
      tasks,
      warmup,
      ratePerSecond: RATE,
      tickMs: TICK_MS,
      topology: 'one API child (APP_RUN_SCHEDULER=false) and one scheduler child',
      results: Object.fromEntries(
        Object.entries(results).map(([k, r]) => [
          k,
          {
            ...r,
            latency: roundSummary(r.latency),
            createResponse: roundSummary(r.createResponse),
            afterAnswer: roundSummary(r.afterAnswer),
          },
        ]),
      ),
    },
  };
}

function roundSummary(s: Summary): Summary {
  return { count: s.count, p50: round(s.p50, 1), p99: round(s.p99, 1), max: round(s.max, 1), mean: round(s.mean, 1) };
}
