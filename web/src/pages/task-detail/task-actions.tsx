import { useState } from 'react';
import { useLocation } from 'wouter';
import { type Task, errorMessage } from '../../api/client';
import { type TaskAction, useTaskAction } from '../../api/queries';
import { ConfirmButton } from '../../components/confirm-button';

/** Pause or resume, run now, edit, delete. */
export function TaskActions({ task, onRunNow, onEdit }: { task: Task; onRunNow(): void; onEdit(): void }) {
  const action = useTaskAction();
  const [, navigate] = useLocation();
  const [message, setMessage] = useState<{ text: string; bad: boolean } | null>(null);

  const run = (kind: TaskAction, done: string) => {
    setMessage(null);
    if (kind === 'run') onRunNow();
    action.mutate(
      { action: kind, ids: [task.id] },
      {
        onSuccess: ({ failed }) => {
          const failure = failed[0];
          if (failure !== undefined) setMessage({ text: errorMessage(failure.error), bad: true });
          else if (kind === 'delete') navigate('/tasks');
          else setMessage({ text: done, bad: false });
        },
      },
    );
  };

  const busy = action.isPending;
  return (
    <div className="actions" role="group" aria-label="Task actions">
      {task.status === 'running' ? (
        <button type="button" disabled={busy} onClick={() => run('pause', 'Paused.')}>
          Pause
        </button>
      ) : (
        <button type="button" disabled={busy} onClick={() => run('resume', 'Resumed.')}>
          Resume
        </button>
      )}
      <button type="button" disabled={busy || task.status === 'paused'} onClick={() => run('run', 'Run started.')} title={task.status === 'paused' ? 'Resume the task to run it' : undefined}>
        Run now
      </button>
      <button type="button" disabled={busy} onClick={onEdit}>
        Edit
      </button>
      <ConfirmButton label="Delete" question="Delete this task and its history?" confirmLabel="Delete task" disabled={busy} onConfirm={() => run('delete', '')} />
      {message !== null && (
        <span className={`notice inline ${message.bad ? 'bad' : 'good'}`} role="status">
          {message.text}
        </span>
      )}
    </div>
  );
}
