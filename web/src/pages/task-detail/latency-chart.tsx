import { useMemo } from 'react';
import type { Run } from '../../api/client';
import { Card } from '../../components/card';
import { TimeSeriesChart } from '../../components/time-series-chart';
import { formatDuration } from '../../lib/format';

/** How many recent runs the chart covers. */
const SHOWN = 100;

/** The check's latency (or the run's duration when the handler reports none) over the recent runs. */
export function LatencyChart({ runs }: { runs: readonly Run[] }) {
  const chart = useMemo(() => {
    const finished = runs.filter((r) => r.status !== 'running').slice(0, SHOWN).reverse();
    return {
      x: finished.map((r) => Date.parse(r.started_at)),
      series: [
        { label: 'latency', values: finished.map((r) => latencyOf(r)), color: '--info', fill: true },
        { label: 'run duration', values: finished.map((r) => r.duration_ms), color: '--muted' },
      ],
      count: finished.length,
    };
  }, [runs]);
  return (
    <Card title="Latency, recent runs">
      {chart.count < 2 ? (
        <p className="muted">{chart.count === 0 ? 'No finished run yet.' : 'One run so far; the chart starts with the second.'}</p>
      ) : (
        <TimeSeriesChart label={`Latency of the last ${chart.count} runs`} x={chart.x} series={chart.series} formatValue={formatDuration} />
      )}
    </Card>
  );
}

/** `latency_ms` from the check's output, when there is one. */
export function latencyOf(run: Run): number | null {
  const output = run.output as { latency_ms?: unknown } | null;
  return typeof output?.latency_ms === 'number' ? output.latency_ms : null;
}
