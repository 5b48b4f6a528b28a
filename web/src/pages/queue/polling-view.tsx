import type { Queue } from '../../api/client';
import { Card } from '../../components/card';
import { formatCount, formatDuration } from '../../lib/format';

/** The database's view of the work: due slots not started, slots running, and how long the oldest has waited. */
export function PollingView({ polling, active }: { polling: Queue['polling']; active: boolean }) {
  return (
    <Card title={active ? 'Polling: due work in the database' : 'Due work in the database'}>
      {!active && <p className="muted small">Stream mode is on; schedulers read the streams above. The database still holds what is due.</p>}
      <dl className="facts inline-facts">
        <dt>Due, not started</dt>
        <dd>{formatCount(polling.due)}</dd>
        <dt>Running</dt>
        <dd>{formatCount(polling.running)}</dd>
        <dt>Oldest due for</dt>
        <dd>{formatDuration(polling.oldest_due_age_ms)}</dd>
      </dl>
    </Card>
  );
}
