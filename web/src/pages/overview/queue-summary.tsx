import { Link } from 'wouter';
import { useQueue } from '../../api/queries';
import { HealthBadge } from '../../components/badges';
import { Card } from '../../components/card';
import { ErrorNotice } from '../../components/error-notice';
import { formatCount, formatDuration } from '../../lib/format';

/** `/queue` at a glance: its status, what waits, and the dead letters. */
export function QueueSummary() {
  const queue = useQueue();
  const q = queue.data;
  const streaming = q?.mode === 'redis_streams' && q.totals !== undefined;
  return (
    <Card title="Queue" actions={q && <HealthBadge status={q.status} />}>
      {queue.isError && <ErrorNotice error={queue.error} what="the queue" />}
      {q && (
        <>
          <dl className="facts">
            {streaming ? (
              <>
                <dt>Waiting (lag)</dt>
                <dd>{formatCount(q.totals?.lag)}</dd>
                <dt>Pending</dt>
                <dd>{formatCount(q.totals?.pending)}</dd>
                <dt>Oldest pending</dt>
                <dd>{formatDuration(q.totals?.oldest_pending_age_ms)}</dd>
              </>
            ) : (
              <>
                <dt>Due</dt>
                <dd>{formatCount(q.polling.due)}</dd>
                <dt>Running</dt>
                <dd>{formatCount(q.polling.running)}</dd>
                <dt>Oldest due</dt>
                <dd>{formatDuration(q.polling.oldest_due_age_ms)}</dd>
              </>
            )}
            <dt>Dead letters</dt>
            <dd>
              <Link href="/queue#dead-letters">{formatCount(q.dead_letters)}</Link>
            </dd>
          </dl>
          {q.reasons.length > 0 && (
            <ul className="reasons" aria-label="Why the queue is not healthy">
              {q.reasons.map((reason) => (
                <li key={reason}>{reason}</li>
              ))}
            </ul>
          )}
        </>
      )}
    </Card>
  );
}
