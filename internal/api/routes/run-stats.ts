import { Router } from 'express';
import { type RunMinuteStats, latenessQuantile, runStatsByMinute } from '../../store/index.js';
import type { ApiDeps } from '../deps.js';
import { RUN_STATS_WINDOWS, type RunStatsJson, runStatsQuerySchema } from '../ops-schemas.js';
import { parseOrThrow } from '../validation-fields.js';

/**
 * How long one answer is reused, at least. Every open dashboard asks every couple of seconds; sharing the answer
 * bounds the range scans to one per window per second per process, however many dashboards are open.
 */
const REUSE_MS = 1000;
/**
 * On a large history the scan itself takes time: an answer is then reused for this many times as long as it took
 * to compute, so that the charts never keep the database busy more than a fifth of the time.
 */
const REUSE_FACTOR = 5;

type Bucket = RunStatsJson['buckets'][number];

/** `GET /stats/runs`: attempts per bucket by status and first-attempt lateness, for the dashboard's charts. */
export function runStatsRouter(deps: Pick<ApiDeps, 'store' | 'clock'>): Router {
  const router = Router();
  const recent = new Map<string, { at: number; reuseMs: number; body: Promise<RunStatsJson> }>();

  router.get('/stats/runs', async (req, res) => {
    const { window } = parseOrThrow(runStatsQuerySchema, req.query, { rootName: 'query' });
    const now = deps.clock.now();
    let entry = recent.get(window);
    if (entry === undefined || now - entry.at >= entry.reuseMs) {
      const started = performance.now();
      const fresh = { at: now, reuseMs: REUSE_MS, body: build(window, now) };
      fresh.body.then(
        () => {
          fresh.reuseMs = Math.max(REUSE_MS, REUSE_FACTOR * (performance.now() - started));
        },
        // A failed answer is not reused.
        () => {
          if (recent.get(window) === fresh) recent.delete(window);
        },
      );
      recent.set(window, fresh);
      entry = fresh;
    }
    res.setHeader('Cache-Control', 'no-store');
    res.json(await entry.body);
  });

  async function build(window: keyof typeof RUN_STATS_WINDOWS, now: number): Promise<RunStatsJson> {
    const { windowMs, bucketMs } = RUN_STATS_WINDOWS[window];
    // Buckets are aligned to the bucket size, and the last one is the one in progress.
    const to = Math.floor(now / bucketMs) * bucketMs + bucketMs;
    const from = to - windowMs;
    const minutes = await runStatsByMinute(deps.store, { from: new Date(from), to: new Date(to) });
    const groups: RunMinuteStats[][] = Array.from({ length: windowMs / bucketMs }, () => []);
    for (const m of minutes) groups[Math.floor((m.minute.getTime() - from) / bucketMs)]?.push(m);
    return {
      window,
      bucket_ms: bucketMs,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      buckets: groups.map((group, i) => ({ start: new Date(from + i * bucketMs).toISOString(), ...summarise(group) })),
      totals: summarise(minutes),
    };
  }

  return router;
}

/** Adds minutes up: counts add, histograms add bucket by bucket, the maximum is the largest. */
function summarise(minutes: readonly RunMinuteStats[]): Omit<Bucket, 'start'> {
  const out = { succeeded: 0, failed: 0, timed_out: 0, running: 0 };
  const counts: number[] = [];
  let max: number | null = null;
  for (const m of minutes) {
    out.succeeded += m.byStatus.succeeded;
    out.failed += m.byStatus.failed;
    out.timed_out += m.byStatus.timed_out;
    out.running += m.byStatus.running;
    m.latenessCounts.forEach((n, i) => {
      counts[i] = (counts[i] ?? 0) + n;
    });
    if (m.latenessMaxMs !== null) max = Math.max(max ?? 0, m.latenessMaxMs);
  }
  const p50 = latenessQuantile(counts, max, 0.5);
  const p95 = latenessQuantile(counts, max, 0.95);
  return {
    ...out,
    lateness_ms: p50 === null || p95 === null || max === null ? null : { p50, p95, max },
  };
}
