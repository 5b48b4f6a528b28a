import { useState } from 'react';
import { Link, useSearchParams } from 'wouter';
import { type TaskFilters as Filters, useTaskList } from '../../api/queries';
import { useServerInfo } from '../../api/server-info';
import { ErrorNotice } from '../../components/error-notice';
import { BulkActions } from './bulk-actions';
import { TaskFilters } from './task-filters';
import { TaskTable } from './task-table';

/** Every task, filtered and paged with the API's cursors; several can be selected and acted on at once. */
export function TasksPage() {
  const { readOnly } = useServerInfo();
  const [params, setParams] = useSearchParams();
  const filters = filtersFrom(params);
  // Cursors of the pages before the current one; the first page has none.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const [selected, setSelected] = useState<ReadonlySet<number>>(new Set());
  const list = useTaskList(filters, cursor);

  const changeFilters = (next: Filters) => {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(next)) if (value !== undefined && value !== '') search.set(key, value);
    setParams(search, { replace: true });
    setCursors([undefined]);
    setSelected(new Set());
  };

  const items = list.data?.items ?? [];
  return (
    <div className="page">
      <div className="page-title">
        <h1>Tasks</h1>
        {!readOnly && (
          <Link href="/tasks/new" className="button primary">
            New task
          </Link>
        )}
      </div>
      <TaskFilters filters={filters} onChange={changeFilters} />
      {!readOnly && (
        <BulkActions
          selected={[...selected]}
          onDone={(remaining) => setSelected(new Set(remaining))}
        />
      )}
      {list.isError && <ErrorNotice error={list.error} what="tasks" />}
      <TaskTable
        tasks={items}
        loading={list.isPending}
        selectable={!readOnly}
        selected={selected}
        onSelect={setSelected}
      />
      <nav className="pager" aria-label="Pages">
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
          Previous page
        </button>
        <span className="muted">Page {cursors.length}</span>
        <button
          type="button"
          disabled={!list.data?.next_cursor}
          onClick={() => setCursors((c) => [...c, list.data?.next_cursor ?? undefined])}
        >
          Next page
        </button>
      </nav>
    </div>
  );
}

function filtersFrom(params: URLSearchParams): Filters {
  const status = params.get('status');
  const up = params.get('up');
  return {
    status: status === 'running' || status === 'paused' ? status : undefined,
    up: up === 'true' || up === 'false' ? up : undefined,
    type: params.get('type') || undefined,
    q: params.get('q') || undefined,
  };
}
