import type { JsonObject, SlotEffects, Task } from '../store/index.js';

/**
 * What a successful attempt leaves behind besides its output, by the conventions of the handler registry:
 * an `up` boolean becomes the task's current state, `events` listed in the task's `notify.on` become webhook
 * notifications, and whatever the handler remembered is kept for its next run.
 */
export function effectsOf(params: {
  task: Task;
  output: unknown;
  remembered: JsonObject | undefined;
  now: Date;
}): SlotEffects {
  const { task, output } = params;
  const fields = output !== null && typeof output === 'object' ? (output as Record<string, unknown>) : {};
  const up = typeof fields.up === 'boolean' ? fields.up : undefined;
  const events = Array.isArray(fields.events) ? fields.events.filter((e): e is string => typeof e === 'string') : [];
  const notify = task.notify as { webhook_url?: unknown; on?: unknown } | null;
  const wanted = new Set(Array.isArray(notify?.on) ? notify.on : []);
  const url = typeof notify?.webhook_url === 'string' ? notify.webhook_url : undefined;
  const notifications =
    url === undefined
      ? []
      : events
          .filter((event) => wanted.has(event))
          .map((event) => ({
            taskId: task.id,
            event,
            url,
            body: { task_id: task.id, name: task.name, event, output: fields, timestamp: params.now.toISOString() },
          }));
  return {
    ...(params.remembered === undefined ? {} : { memory: params.remembered }),
    ...(up === undefined ? {} : { up }),
    ...(notifications.length === 0 ? {} : { notifications }),
  };
}
