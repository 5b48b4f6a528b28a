import { useNotifications } from '../../api/queries';
import { Card } from '../../components/card';
import { ErrorNotice } from '../../components/error-notice';
import { LiveTime } from '../../components/live-time';
import { formatDuration } from '../../lib/format';

const STATUS_TONE = { pending: 'info', delivered: 'good', failed: 'bad' } as const;

/** The task's webhook notifications, each with every delivery attempt. */
export function NotificationList({ taskId }: { taskId: number }) {
  const list = useNotifications(taskId);
  const items = list.data?.items ?? [];
  return (
    <Card title="Notifications">
      {list.isError && <ErrorNotice error={list.error} what="notifications" />}
      {list.data && items.length === 0 && <p className="muted">No notification sent yet.</p>}
      <ul className="plain-list">
        {items.map((n) => (
          <li key={n.id}>
            <span className={`badge ${STATUS_TONE[n.status]}`}>{n.status}</span> <strong>{n.event}</strong>{' '}
            <LiveTime iso={n.created_at} /> <span className="muted small">to {n.url}</span>
            {n.attempts.length > 0 && (
              <ol className="attempts" aria-label={`Delivery attempts of notification ${n.id}`}>
                {n.attempts.map((a) => (
                  <li key={a.attempt} className="small">
                    attempt {a.attempt}: {a.status_code !== null ? `HTTP ${a.status_code}` : (a.error ?? 'no answer')} in{' '}
                    {formatDuration(a.duration_ms)}, <LiveTime iso={a.at} />
                  </li>
                ))}
              </ol>
            )}
            {n.status === 'pending' && n.attempts.length > 0 && (
              <span className="muted small">
                next attempt <LiveTime iso={n.next_attempt_at} />
              </span>
            )}
          </li>
        ))}
      </ul>
    </Card>
  );
}
