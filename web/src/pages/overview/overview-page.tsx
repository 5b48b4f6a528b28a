import { HealthPanel } from './health-panel';
import { LatenessChart } from './lateness-chart';
import { MonitorCounts } from './monitor-counts';
import { DownList } from './down-list';
import { QueueSummary } from './queue-summary';
import { RunsChart } from './runs-chart';

/** What is up, what is down, what ran, and whether the scheduler keeps up: the first page. */
export function OverviewPage() {
  return (
    <div className="page">
      <h1>Overview</h1>
      <MonitorCounts />
      <div className="grid two">
        <RunsChart />
        <LatenessChart />
      </div>
      <div className="grid three">
        <DownList />
        <HealthPanel />
        <QueueSummary />
      </div>
    </div>
  );
}
