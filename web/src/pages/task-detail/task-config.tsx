import type { Task } from '../../api/client';
import { Card } from '../../components/card';
import { LiveTime, useNow } from '../../components/live-time';
import { formatDateTime, formatDuration, formatNextRuns, formatSchedule } from '../../lib/format';

/** The task as configured, and where its schedule stands. */
export function TaskConfig({ task }: { task: Task }) {
  const now = useNow(5000);
  return (
    <Card title="Configuration">
      <dl className="facts">
        <dt>Type</dt>
        <dd>{task.type}</dd>
        <dt>Schedule</dt>
        <dd className="mono">{formatSchedule(task.schedule)}</dd>
        <dt>Next runs</dt>
        <dd>{task.status === 'paused' ? 'paused' : formatNextRuns(task.next_runs ?? [task.next_run_at], now)}</dd>
        <dt>Next run</dt>
        <dd>{task.status === 'paused' ? '—' : <LiveTime iso={task.next_run_at} />}</dd>
        <dt>Last outcome</dt>
        <dd>
          {task.last_status ?? 'none yet'} {task.last_run_at && <LiveTime iso={task.last_run_at} />}
        </dd>
        <dt>Priority</dt>
        <dd>{task.priority}</dd>
        <dt>Timeout</dt>
        <dd>{formatDuration(task.timeout_ms)}</dd>
        <dt>Attempts</dt>
        <dd>{task.max_attempts}</dd>
        <dt>Webhook</dt>
        <dd>{task.notify ? `${task.notify.webhook_url} (${task.notify.on.join(', ')})` : 'none'}</dd>
        <dt>Created</dt>
        <dd>{formatDateTime(task.created_at)}</dd>
      </dl>
      <details>
        <summary>Payload</summary>
        <pre className="mono code">{JSON.stringify(task.payload, null, 2)}</pre>
      </details>
    </Card>
  );
}
