/**
 * An open-loop load generator for api-create (b): requests start on a fixed schedule, one every 1000/RATE ms,
 * whatever the answers do, over a keep-alive pool of CONNECTIONS. Latency is measured from each request's
 * scheduled start, so a request that had to wait for a free connection counts that wait (no coordinated
 * omission), and the service time from the moment it was handed to the pool is reported beside it.
 *
 * Why not `autocannon -R`: it lets each connection send its per-second quota back to back and then pause until
 * the next second, so 1,000 req/s arrives as a burst at the start of every second; and its coordinated-omission
 * correction records each slow answer once per millisecond of its latency, which inflates the percentiles.
 *
 * Configured by URL, RATE, SECONDS, CONNECTIONS and BODY (with `[<id>]` replaced by the request number);
 * prints one JSON line with the figures.
 * Usage: node --import tsx bench/fixed-rate-load.ts
 */
import { Pool } from 'undici';

const env = (name: string) => process.env[name] ?? '';
const url = new URL(env('URL'));
const rate = Number(env('RATE'));
const seconds = Number(env('SECONDS'));
const total = Math.round(rate * seconds);
const pool = new Pool(url.origin, { connections: Number(env('CONNECTIONS') || 50), pipelining: 1 });

const fromSchedule: number[] = [];
const service: number[] = [];
let errors = 0;
let non2xx = 0;
let sent = 0;
let finished = 0;

async function one(i: number, scheduledAt: number): Promise<void> {
  const handedAt = performance.now();
  try {
    const res = await pool.request({
      path: url.pathname,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: env('BODY').replace('[<id>]', String(i)),
    });
    await res.body.text();
    if (res.statusCode < 200 || res.statusCode >= 300) non2xx += 1;
  } catch {
    errors += 1;
  } finally {
    const end = performance.now();
    fromSchedule.push(end - scheduledAt);
    service.push(end - handedAt);
    finished += 1;
  }
}

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] as number);
}

const start = performance.now() + 20;
await new Promise<void>((done) => {
  const tick = () => {
    const now = performance.now();
    while (sent < total && start + (sent * 1000) / rate <= now) {
      void one(sent, start + (sent * 1000) / rate);
      sent += 1;
    }
    if (sent < total) setTimeout(tick, 1);
    else done();
  };
  tick();
});
const lastScheduled = start + ((total - 1) * 1000) / rate;
while (finished < total) await new Promise((r) => setTimeout(r, 5));
const elapsed = (performance.now() - start) / 1000;
await pool.close();
const r2 = (v: number) => Math.round(v * 100) / 100;
process.stdout.write(
  `${JSON.stringify({
    requests: total,
    seconds: r2(elapsed),
    requestsPerSecond: Math.round(total / ((lastScheduled - start) / 1000 + 1 / rate)),
    p50: r2(pct(fromSchedule, 50)),
    p90: r2(pct(fromSchedule, 90)),
    p99: r2(pct(fromSchedule, 99)),
    max: r2(pct(fromSchedule, 100)),
    serviceP50: r2(pct(service, 50)),
    serviceP99: r2(pct(service, 99)),
    errors,
    non2xx,
  })}\n`,
);
