import { useState } from 'react';
import { ApiRequestError, type Task, type TaskPatch, errorMessage } from '../../api/client';
import { useUpdateTask } from '../../api/queries';
import { Card } from '../../components/card';
import { HttpTaskForm } from '../create/http-task-form';
import { JsonTaskForm } from '../create/json-task-form';
import { type HttpFormValues, httpFormFromTask, httpFormToBody } from '../create/task-form-model';

/** Changes a task: the `http` form for checks, the JSON of the changeable fields for any other type. */
export function TaskEditForm({ task, onDone }: { task: Task; onDone(): void }) {
  const update = useUpdateTask();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<string | null>(null);

  const send = (body: TaskPatch) => {
    setErrors({});
    setFailure(null);
    update.mutate(
      { id: task.id, body },
      {
        onSuccess: onDone,
        onError: (error) => {
          if (error instanceof ApiRequestError && Object.keys(error.fields).length > 0) setErrors(error.fields);
          else setFailure(errorMessage(error));
        },
      },
    );
  };

  const submitHttp = (values: HttpFormValues) => {
    const { body, problems } = httpFormToBody(values);
    if (Object.keys(problems).length > 0) {
      setErrors(problems);
      return;
    }
    // The type stays; a webhook emptied in the form is removed.
    const { type: _type, ...changes } = body;
    send({ ...changes, notify: changes.notify ?? null });
  };

  const editable = {
    name: task.name,
    payload: task.payload,
    schedule: task.schedule,
    priority: task.priority,
    timeout_ms: task.timeout_ms,
    max_attempts: task.max_attempts,
    status: task.status,
    notify: task.notify,
  };

  return (
    <Card title="Edit">
      {task.type === 'http' ? (
        <HttpTaskForm
          initial={httpFormFromTask(task)}
          errors={errors}
          failure={failure}
          submitLabel="Save changes"
          busy={update.isPending}
          onSubmit={submitHttp}
          onCancel={onDone}
        />
      ) : (
        <JsonTaskForm
          types={[]}
          initial={JSON.stringify(editable, null, 2)}
          errors={errors}
          failure={failure}
          submitLabel="Save changes"
          busy={update.isPending}
          onSubmit={(body) => send(body as TaskPatch)}
          onCancel={onDone}
        />
      )}
    </Card>
  );
}
