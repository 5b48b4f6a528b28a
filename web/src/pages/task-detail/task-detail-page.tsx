import { useEffect, useState } from 'react';
import { Link } from 'wouter';
import { ApiRequestError } from '../../api/client';
import { useRuns, useTask } from '../../api/queries';
import { useServerInfo } from '../../api/server-info';
import { TaskStatusBadge, UpBadge } from '../../components/badges';
import { ErrorNotice } from '../../components/error-notice';
import { LatencyChart } from './latency-chart';
import { NewItems } from './new-items';
import { NotificationList } from './notification-list';
import { RunHistory } from './run-history';
import { TaskActions } from './task-actions';
import { TaskConfig } from './task-config';
import { TaskEditForm } from './task-edit-form';

/** After "run now", the history is asked for faster for this long, so the run shows as it starts and as it ends. */
const FAST_AFTER_RUN_MS = 15_000;

/** One task: its state, configuration, runs, new items and notifications, and what can be done with it. */
export function TaskDetailPage({ id }: { id: number }) {
  const { readOnly } = useServerInfo();
  const task = useTask(id);
  // Set by "run now"; cleared after a while. A counter, so that a second click restarts the while.
  const [runNowClicks, setRunNowClicks] = useState(0);
  const [fast, setFast] = useState(false);
  useEffect(() => {
    if (runNowClicks === 0) return;
    setFast(true);
    const timer = setTimeout(() => setFast(false), FAST_AFTER_RUN_MS);
    return () => clearTimeout(timer);
  }, [runNowClicks]);
  const runs = useRuns(id, fast);
  const [editing, setEditing] = useState(false);

  if (task.isError) {
    if (task.error instanceof ApiRequestError && task.error.status === 404) {
      return (
        <div className="page">
          <h1>Task {id} does not exist</h1>
          <p>
            It may have been deleted. <Link href="/tasks">All tasks</Link>
          </p>
        </div>
      );
    }
    return (
      <div className="page">
        <ErrorNotice error={task.error} what={`task ${id}`} />
      </div>
    );
  }
  const t = task.data;
  if (t === undefined) return <div className="page" aria-busy="true">Loading…</div>;
  const allRuns = runs.data?.pages.flatMap((p) => p.items) ?? [];

  return (
    <div className="page">
      <p className="crumbs">
        <Link href="/tasks">Tasks</Link> / {t.type}
      </p>
      <div className="page-title">
        <h1>{t.name}</h1>
        <span className="stack" role="group" aria-label="State">
          <UpBadge up={t.up} />
          <TaskStatusBadge status={t.status} />
        </span>
      </div>
      {!readOnly && <TaskActions task={t} onRunNow={() => setRunNowClicks((n) => n + 1)} onEdit={() => setEditing(true)} />}
      {editing && !readOnly ? (
        <TaskEditForm task={t} onDone={() => setEditing(false)} />
      ) : (
        <div className="grid two">
          <TaskConfig task={t} />
          <LatencyChart runs={allRuns} />
        </div>
      )}
      <RunHistory
        runs={allRuns}
        loading={runs.isPending}
        error={runs.error}
        hasMore={runs.hasNextPage}
        loadingMore={runs.isFetchingNextPage}
        onLoadMore={() => void runs.fetchNextPage()}
      />
      <div className="grid two">
        <NewItems runs={allRuns} />
        <NotificationList taskId={id} />
      </div>
    </div>
  );
}
