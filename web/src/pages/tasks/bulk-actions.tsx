import { useState } from 'react';
import { errorMessage } from '../../api/client';
import { type TaskAction, useTaskAction } from '../../api/queries';
import { ConfirmButton } from '../../components/confirm-button';

const DONE_WORDS: Record<TaskAction, string> = { pause: 'paused', resume: 'resumed', run: 'started', delete: 'deleted' };

/** Pause, resume, run now or delete every selected task; says what happened to each. */
export function BulkActions({ selected, onDone }: { selected: readonly number[]; onDone(remaining: number[]): void }) {
  const action = useTaskAction();
  const [message, setMessage] = useState<{ text: string; bad: boolean } | null>(null);
  const count = selected.length;
  const noun = count === 1 ? 'task' : 'tasks';

  const run = (kind: TaskAction) => {
    setMessage(null);
    action.mutate(
      { action: kind, ids: selected },
      {
        onSuccess: ({ done, failed }) => {
          const parts = [`${done.length} ${done.length === 1 ? 'task' : 'tasks'} ${DONE_WORDS[kind]}`];
          for (const f of failed) parts.push(`task ${f.id}: ${errorMessage(f.error)}`);
          setMessage({ text: parts.join('; '), bad: failed.length > 0 });
          // Deleted tasks leave the selection; the others stay selected for the next action.
          onDone(kind === 'delete' ? failed.map((f) => f.id) : [...selected]);
        },
      },
    );
  };

  return (
    <div className="bulk" role="region" aria-label="Selected tasks">
      <span className="muted">{count === 0 ? 'Select tasks to act on several at once.' : `${count} ${noun} selected`}</span>
      {count > 0 && (
        <>
          <button type="button" disabled={action.isPending} onClick={() => run('pause')}>
            Pause
          </button>
          <button type="button" disabled={action.isPending} onClick={() => run('resume')}>
            Resume
          </button>
          <button type="button" disabled={action.isPending} onClick={() => run('run')}>
            Run now
          </button>
          <ConfirmButton
            label="Delete"
            question={`Delete ${count} ${noun} and their history?`}
            confirmLabel={`Delete ${count} ${noun}`}
            disabled={action.isPending}
            onConfirm={() => run('delete')}
          />
        </>
      )}
      {message !== null && (
        <p className={`notice ${message.bad ? 'bad' : 'good'}`} role="status">
          {message.text}
        </p>
      )}
    </div>
  );
}
