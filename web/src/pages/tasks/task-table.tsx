import { Link } from 'wouter';
import type { Task } from '../../api/client';
import { RunStatusBadge, TaskStatusBadge, UpBadge } from '../../components/badges';
import { LiveTime, useNow } from '../../components/live-time';
import { formatDuration, formatNextRuns, formatSchedule } from '../../lib/format';

interface TaskTableProps {
  tasks: readonly Task[];
  loading: boolean;
  selectable: boolean;
  selected: ReadonlySet<number>;
  onSelect(next: ReadonlySet<number>): void;
}

/** One row per task: what it is, when it runs, how its last run went. */
export function TaskTable({ tasks, loading, selectable, selected, onSelect }: TaskTableProps) {
  const now = useNow(5000);
  const allSelected = tasks.length > 0 && tasks.every((t) => selected.has(t.id));
  const toggle = (id: number) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    onSelect(next);
  };
  return (
    <div className="table-wrap">
      <table className="table" aria-busy={loading}>
        <caption className="sr-only">Tasks</caption>
        <thead>
          <tr>
            {selectable && (
              <th scope="col" className="col-check">
                <input
                  type="checkbox"
                  aria-label="Select every task on this page"
                  checked={allSelected}
                  onChange={() => onSelect(allSelected ? new Set() : new Set(tasks.map((t) => t.id)))}
                />
              </th>
            )}
            <th scope="col">Name</th>
            <th scope="col">State</th>
            <th scope="col" className="col-optional">Type</th>
            <th scope="col">Schedule</th>
            <th scope="col">Last run</th>
            <th scope="col" className="col-optional">Next run</th>
            <th scope="col" className="col-optional num">Latency</th>
          </tr>
        </thead>
        <tbody>
          {tasks.map((task) => (
            <tr key={task.id}>
              {selectable && (
                <td className="col-check">
                  <input
                    type="checkbox"
                    aria-label={`Select ${task.name}`}
                    checked={selected.has(task.id)}
                    onChange={() => toggle(task.id)}
                  />
                </td>
              )}
              <th scope="row">
                <Link href={`/tasks/${task.id}`}>{task.name}</Link>
              </th>
              <td>
                <span className="stack">
                  <UpBadge up={task.up} />
                  <TaskStatusBadge status={task.status} />
                </span>
              </td>
              <td className="col-optional">{task.type}</td>
              <td>
                <span className="mono">{formatSchedule(task.schedule)}</span>
                {task.next_runs !== undefined && (
                  <span className="muted small block" title="The next three runs">
                    {formatNextRuns(task.next_runs, now)}
                  </span>
                )}
              </td>
              <td>
                {task.last_run ? (
                  <span className="stack">
                    <RunStatusBadge status={task.last_run.status} />
                    <LiveTime iso={task.last_run.started_at} />
                  </span>
                ) : (
                  <span className="muted">never</span>
                )}
              </td>
              <td className="col-optional">{task.status === 'paused' ? <span className="muted">paused</span> : <LiveTime iso={task.next_run_at} />}</td>
              <td className="col-optional num">{formatDuration(task.last_run?.latency_ms ?? task.last_run?.duration_ms)}</td>
            </tr>
          ))}
          {!loading && tasks.length === 0 && (
            <tr>
              <td colSpan={selectable ? 8 : 7} className="empty">
                No task matches.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
