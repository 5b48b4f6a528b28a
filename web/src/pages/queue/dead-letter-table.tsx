import { useState } from 'react';
import { Link } from 'wouter';
import { type DeadLetterReason, errorMessage } from '../../api/client';
import { type DeadLetterAction, useDeadLetterAction, useDeadLetters } from '../../api/queries';
import { useServerInfo } from '../../api/server-info';
import { ConfirmButton } from '../../components/confirm-button';
import { ErrorNotice } from '../../components/error-notice';
import { LiveTime } from '../../components/live-time';

const REASONS: readonly DeadLetterReason[] = ['attempts_exhausted', 'malformed', 'unknown_task', 'unknown_type', 'deleted_while_pending'];
const DONE_WORDS: Record<DeadLetterAction, string> = { replay: 'replayed', delete: 'deleted' };

/** Dead letters, filtered by reason; replay or delete one, or every selected one. */
export function DeadLetterTable() {
  const { readOnly } = useServerInfo();
  const [reason, setReason] = useState<DeadLetterReason | undefined>(undefined);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [selected, setSelected] = useState<ReadonlySet<number>>(new Set());
  const [message, setMessage] = useState<{ text: string; bad: boolean } | null>(null);
  const list = useDeadLetters(reason, cursors[cursors.length - 1]);
  const action = useDeadLetterAction();
  const items = list.data?.items ?? [];
  const allSelected = items.length > 0 && items.every((d) => selected.has(d.id));

  const act = (kind: DeadLetterAction, ids: readonly number[]) => {
    setMessage(null);
    action.mutate(
      { action: kind, ids },
      {
        onSuccess: ({ done, failed }) => {
          const parts = [`${done.length} dead ${done.length === 1 ? 'letter' : 'letters'} ${DONE_WORDS[kind]}`];
          for (const f of failed) parts.push(`#${f.id}: ${errorMessage(f.error)}`);
          setMessage({ text: parts.join('; '), bad: failed.length > 0 });
          setSelected(new Set(failed.map((f) => f.id)));
        },
      },
    );
  };
  const toggle = (id: number) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const count = selected.size;

  return (
    <section id="dead-letters" className="card" aria-label="Dead letters">
      <header className="card-header">
        <h2>Dead letters</h2>
        <label className="inline">
          Reason{' '}
          <select
            value={reason ?? ''}
            onChange={(e) => {
              setReason((e.target.value || undefined) as DeadLetterReason | undefined);
              setCursors([undefined]);
              setSelected(new Set());
            }}
          >
            <option value="">any</option>
            {REASONS.map((r) => (
              <option key={r} value={r}>
                {r.replaceAll('_', ' ')}
              </option>
            ))}
          </select>
        </label>
      </header>
      {!readOnly && count > 0 && (
        <div className="bulk" role="region" aria-label="Selected dead letters">
          <span className="muted">{count} selected</span>
          <button type="button" disabled={action.isPending} onClick={() => act('replay', [...selected])}>
            Replay selected
          </button>
          <ConfirmButton label="Delete selected" question={`Delete ${count} dead ${count === 1 ? 'letter' : 'letters'}?`} disabled={action.isPending} onConfirm={() => act('delete', [...selected])} />
        </div>
      )}
      {message !== null && (
        <p className={`notice ${message.bad ? 'bad' : 'good'}`} role="status">
          {message.text}
        </p>
      )}
      {list.isError && <ErrorNotice error={list.error} what="dead letters" />}
      <div className="table-wrap">
        <table className="table" aria-busy={list.isPending}>
          <caption className="sr-only">Dead letters, newest first</caption>
          <thead>
            <tr>
              {!readOnly && (
                <th scope="col" className="col-check">
                  <input type="checkbox" aria-label="Select every dead letter on this page" checked={allSelected} onChange={() => setSelected(allSelected ? new Set() : new Set(items.map((d) => d.id)))} />
                </th>
              )}
              <th scope="col">Letter</th>
              <th scope="col">Task</th>
              <th scope="col">Reason</th>
              <th scope="col">Error</th>
              <th scope="col" className="col-optional">When</th>
              {!readOnly && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {items.map((d) => (
              <tr key={d.id}>
                {!readOnly && (
                  <td className="col-check">
                    <input type="checkbox" aria-label={`Select dead letter ${d.id}`} checked={selected.has(d.id)} onChange={() => toggle(d.id)} />
                  </td>
                )}
                <th scope="row">#{d.id}</th>
                <td>{d.task_id === null ? <span className="muted">none</span> : <Link href={`/tasks/${d.task_id}`}>task {d.task_id}</Link>}</td>
                <td>{d.reason.replaceAll('_', ' ')}</td>
                <td className="error-text">{d.error ?? '—'}</td>
                <td className="col-optional">
                  <LiveTime iso={d.created_at} />
                </td>
                {!readOnly && (
                  <td>
                    <span className="stack">
                      <button type="button" disabled={action.isPending} onClick={() => act('replay', [d.id])} aria-label={`Replay dead letter ${d.id}`}>
                        Replay
                      </button>
                      <button type="button" className="danger" disabled={action.isPending} onClick={() => act('delete', [d.id])} aria-label={`Delete dead letter ${d.id}`}>
                        Delete
                      </button>
                    </span>
                  </td>
                )}
              </tr>
            ))}
            {!list.isPending && items.length === 0 && (
              <tr>
                <td colSpan={7} className="empty">
                  No dead letter{reason ? ` with reason ${reason.replaceAll('_', ' ')}` : ''}.
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <nav className="pager" aria-label="Dead letter pages">
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
          Previous page
        </button>
        <button type="button" disabled={!list.data?.next_cursor} onClick={() => setCursors((c) => [...c, list.data?.next_cursor ?? undefined])}>
          Next page
        </button>
      </nav>
    </section>
  );
}
