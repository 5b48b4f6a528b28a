import { useMemo } from 'react';
import { useRunStats } from '../../api/queries';
import { Card } from '../../components/card';
import { ErrorNotice } from '../../components/error-notice';
import { TimeSeriesChart } from '../../components/time-series-chart';
import { formatDuration } from '../../lib/format';

/** How late first attempts started after their slot, per minute: p50, p95 and the worst. */
export function LatenessChart() {
  const stats = useRunStats('1h');
  const chart = useMemo(() => {
    const buckets = stats.data?.buckets ?? [];
    return {
      x: buckets.map((b) => Date.parse(b.start)),
      series: [
        { label: 'p50', values: buckets.map((b) => b.lateness_ms?.p50 ?? null), color: '--info' },
        { label: 'p95', values: buckets.map((b) => b.lateness_ms?.p95 ?? null), color: '--warn' },
        { label: 'max', values: buckets.map((b) => b.lateness_ms?.max ?? null), color: '--bad' },
      ],
    };
  }, [stats.data]);
  const late = stats.data?.totals.lateness_ms;
  return (
    <Card title="Schedule lateness, last hour">
      {stats.isError && <ErrorNotice error={stats.error} what="lateness" />}
      <p className="figures">
        <span>
          p50 <strong>{formatDuration(late?.p50)}</strong>
        </span>
        <span>
          p95 <strong>{formatDuration(late?.p95)}</strong>
        </span>
        <span>
          max <strong>{formatDuration(late?.max)}</strong>
        </span>
      </p>
      <TimeSeriesChart label="Schedule lateness per minute over the last hour" x={chart.x} series={chart.series} formatValue={formatDuration} />
    </Card>
  );
}
