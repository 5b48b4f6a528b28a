import { useState } from 'react';
import { useLocation } from 'wouter';
import { ApiRequestError, type TaskCreate, errorMessage } from '../../api/client';
import { useCreateTask } from '../../api/queries';
import { useServerInfo } from '../../api/server-info';
import { HttpTaskForm } from './http-task-form';
import { JsonTaskForm, taskTemplate } from './json-task-form';
import { type HttpFormValues, emptyHttpForm, httpFormToBody } from './task-form-model';

type Mode = 'http' | 'json';

/** Creates a task: a form for the `http` type, or the JSON body for any registered type. */
export function CreatePage() {
  const { info } = useServerInfo();
  const [, navigate] = useLocation();
  const [mode, setMode] = useState<Mode>('http');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const create = useCreateTask();

  const switchTo = (next: Mode) => {
    setMode(next);
    setErrors({});
    setFailure(null);
  };

  const send = (body: TaskCreate) => {
    setErrors({});
    setFailure(null);
    create.mutate(body, {
      onSuccess: (task) => navigate(`/tasks/${task.id}`),
      onError: (error) => {
        if (error instanceof ApiRequestError && Object.keys(error.fields).length > 0) setErrors(error.fields);
        else setFailure(errorMessage(error));
      },
    });
  };

  const submitHttp = (values: HttpFormValues) => {
    const { body, problems } = httpFormToBody(values);
    if (Object.keys(problems).length > 0) {
      setErrors(problems);
      return;
    }
    send(body);
  };

  return (
    <div className="page narrow">
      <h1>New task</h1>
      <div className="tabs" role="tablist" aria-label="How to describe the task">
        <button type="button" role="tab" aria-selected={mode === 'http'} onClick={() => switchTo('http')}>
          HTTP check
        </button>
        <button type="button" role="tab" aria-selected={mode === 'json'} onClick={() => switchTo('json')}>
          Any type (JSON)
        </button>
      </div>
      {mode === 'http' ? (
        <HttpTaskForm initial={emptyHttpForm()} errors={errors} failure={failure} submitLabel="Create task" busy={create.isPending} onSubmit={submitHttp} />
      ) : (
        <JsonTaskForm
          types={info.types}
          initial={taskTemplate(info.types.includes('http') ? 'http' : (info.types[0] ?? 'noop'))}
          errors={errors}
          failure={failure}
          submitLabel="Create task"
          busy={create.isPending}
          onSubmit={(body) => send(body as TaskCreate)}
        />
      )}
    </div>
  );
}
