import { Link } from 'wouter';
import { useTaskList } from '../../api/queries';
import { Card } from '../../components/card';
import { ErrorNotice } from '../../components/error-notice';
import { LiveTime } from '../../components/live-time';

const SHOWN = 8;

/** The monitors that are down now, first few, each with the reason its last check gave. */
export function DownList() {
  const down = useTaskList({ up: 'false' }, undefined, SHOWN);
  const items = down.data?.items ?? [];
  return (
    <Card title="Down now" actions={down.data?.next_cursor ? <Link href="/tasks?up=false">all</Link> : undefined}>
      {down.isError && <ErrorNotice error={down.error} what="monitors that are down" />}
      {down.data && items.length === 0 && <p className="muted">Every monitor that reports is up.</p>}
      <ul className="plain-list">
        {items.map((task) => (
          <li key={task.id}>
            <Link href={`/tasks/${task.id}`}>{task.name}</Link>{' '}
            <span className="muted">
              last checked <LiveTime iso={task.last_run?.finished_at ?? task.last_run_at} />
            </span>
          </li>
        ))}
      </ul>
    </Card>
  );
}
