import { type RawBuilder, sql } from 'kysely';
import type { Db } from './database.js';
import { toDate } from './mappers.js';
import type { RunStatus } from './types.js';

/**
 * Run history as a time series: attempts started per minute by status, and how late first attempts started
 * (`started_at - slot`) as a per-minute histogram. The database does the grouping, so the cost is one range scan of
 * `idx_task_runs_started` whatever the rate, and the answer is a few hundred rows at most.
 */

/**
 * Upper bounds (inclusive, ms) of the lateness histogram's buckets; one more bucket holds everything above the
 * last. Fine near zero, where a healthy scheduler lives, and coarse in the minutes, where any value means trouble.
 */
export const LATENESS_BUCKET_BOUNDS_MS: readonly number[] = [
  5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 300_000,
];

/** One minute of run history. */
export interface RunMinuteStats {
  /** Start of the minute (UTC). */
  minute: Date;
  /** Attempts that started in this minute, by their status now. */
  byStatus: Record<RunStatus, number>;
  /** First attempts only: counts per bucket of {@link LATENESS_BUCKET_BOUNDS_MS} (one more for the overflow). */
  latenessCounts: number[];
  /** Largest lateness of a first attempt in this minute, in ms; null when none started. */
  latenessMaxMs: number | null;
}

interface StatsRow {
  minute: string;
  status: RunStatus;
  bucket: number | string;
  n: number | string;
  max_late: number | string | null;
}

/** Minutes in [from, to) that had at least one attempt start, oldest first. */
export async function runStatsByMinute(conn: Db, params: { from: Date; to: Date }): Promise<RunMinuteStats[]> {
  const minute: RawBuilder<string> =
    conn.dialect === 'mysql' ? sql`DATE_FORMAT(started_at, '%Y-%m-%dT%H:%i')` : sql`substr(started_at, 1, 16)`;
  const lateness: RawBuilder<number> =
    conn.dialect === 'mysql'
      ? sql`TIMESTAMPDIFF(MICROSECOND, slot, started_at) / 1000`
      : sql`(julianday(started_at) - julianday(slot)) * 86400000.0`;
  const bucketCases = LATENESS_BUCKET_BOUNDS_MS.map((bound, i) => sql`WHEN late <= ${sql.lit(bound)} THEN ${sql.lit(i)}`);
  const bucket = sql`CASE WHEN late IS NULL THEN -1 ${sql.join(bucketCases, sql` `)} ELSE ${sql.lit(LATENESS_BUCKET_BOUNDS_MS.length)} END`;
  const { rows } = await sql<StatsRow>`
    SELECT minute, status, ${bucket} AS bucket, COUNT(*) AS n, MAX(late) AS max_late
    FROM (
      SELECT ${minute} AS minute, status, CASE WHEN attempt = 1 THEN ${lateness} END AS late
      FROM task_runs
      WHERE started_at >= ${params.from} AND started_at < ${params.to}
    ) recent
    GROUP BY minute, status, ${bucket}
  `.execute(conn.db);

  const byMinute = new Map<string, RunMinuteStats>();
  for (const row of rows) {
    let entry = byMinute.get(row.minute);
    if (entry === undefined) {
      entry = {
        minute: toDate(`${row.minute}:00.000Z`),
        byStatus: { running: 0, succeeded: 0, failed: 0, timed_out: 0 },
        latenessCounts: new Array<number>(LATENESS_BUCKET_BOUNDS_MS.length + 1).fill(0),
        latenessMaxMs: null,
      };
      byMinute.set(row.minute, entry);
    }
    const n = Number(row.n);
    entry.byStatus[row.status] += n;
    const b = Number(row.bucket);
    if (b >= 0) {
      entry.latenessCounts[b] = (entry.latenessCounts[b] ?? 0) + n;
      // A slot taken a hair early (clocks of different hosts) is not late.
      const max = Math.max(0, Math.round(Number(row.max_late ?? 0)));
      entry.latenessMaxMs = Math.max(entry.latenessMaxMs ?? 0, max);
    }
  }
  return [...byMinute.values()].sort((a, b) => a.minute.getTime() - b.minute.getTime());
}

/**
 * The q-quantile (0..1) of a lateness histogram, interpolated linearly inside its bucket and never above the
 * largest value seen. Null when the histogram is empty.
 */
export function latenessQuantile(counts: readonly number[], maxMs: number | null, q: number): number | null {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0 || maxMs === null) return null;
  const rank = q * total;
  let seen = 0;
  for (const [i, count] of counts.entries()) {
    if (count === 0) continue;
    if (seen + count >= rank) {
      const lower = i === 0 ? 0 : (LATENESS_BUCKET_BOUNDS_MS[i - 1] ?? 0);
      const upper = Math.min(LATENESS_BUCKET_BOUNDS_MS[i] ?? maxMs, maxMs);
      const estimate = lower + ((upper - lower) * (rank - seen)) / count;
      return Math.round(Math.min(Math.max(estimate, 0), maxMs));
    }
    seen += count;
  }
  return maxMs;
}
