import { useMemo } from 'react';
import { useRunStats } from '../../api/queries';
import { Card } from '../../components/card';
import { ErrorNotice } from '../../components/error-notice';
import { TimeSeriesChart } from '../../components/time-series-chart';
import { formatCount, formatPercent } from '../../lib/format';

/** Attempts started per minute over the last hour: succeeded, and failed or timed out. */
export function RunsChart() {
  const stats = useRunStats('1h');
  const chart = useMemo(() => {
    const buckets = stats.data?.buckets ?? [];
    return {
      x: buckets.map((b) => Date.parse(b.start)),
      series: [
        { label: 'succeeded', values: buckets.map((b) => b.succeeded), color: '--good', fill: true },
        { label: 'failed', values: buckets.map((b) => b.failed + b.timed_out), color: '--bad', bars: true },
      ],
    };
  }, [stats.data]);
  const totals = stats.data?.totals;
  const failed = (totals?.failed ?? 0) + (totals?.timed_out ?? 0);
  const all = (totals?.succeeded ?? 0) + failed;
  return (
    <Card title="Runs per minute, last hour">
      {stats.isError && <ErrorNotice error={stats.error} what="run statistics" />}
      <p className="figures">
        <span>
          <strong>{formatCount(all)}</strong> runs
        </span>
        <span>
          <strong>{formatCount(failed)}</strong> failed
        </span>
        <span>
          <strong>{formatPercent(totals?.succeeded ?? 0, all)}</strong> succeeded
        </span>
      </p>
      <TimeSeriesChart label="Runs per minute over the last hour" x={chart.x} series={chart.series} formatValue={(v) => formatCount(Math.round(v))} />
    </Card>
  );
}
