import { useQueue } from '../../api/queries';
import { HealthBadge } from '../../components/badges';
import { ErrorNotice } from '../../components/error-notice';
import { DeadLetterTable } from './dead-letter-table';
import { PollingView } from './polling-view';
import { StreamTable } from './stream-table';

/** The queue: streams and consumers in stream mode, due rows in polling mode, and the dead letters. */
export function QueuePage() {
  const queue = useQueue();
  const q = queue.data;
  return (
    <div className="page">
      <div className="page-title">
        <h1>Queue</h1>
        {q && (
          <span className="stack">
            <HealthBadge status={q.status} />
            <span className="muted">{q.mode === 'redis_streams' ? 'stream mode (redis_streams)' : 'polling mode (db_polling)'}</span>
          </span>
        )}
      </div>
      {queue.isError && <ErrorNotice error={queue.error} what="the queue" />}
      {q && q.reasons.length > 0 && (
        <ul className="notice warn reasons" aria-label="Why the queue is not healthy">
          {q.reasons.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      )}
      {q?.streams !== undefined && <StreamTable streams={q.streams} totals={q.totals} />}
      {q && <PollingView polling={q.polling} active={q.mode === 'db_polling'} />}
      <DeadLetterTable />
    </div>
  );
}
