/** What a stream entry carries. Plain string fields, so that `redis-cli XRANGE` shows them as written. */
export interface TaskMessage {
  taskId: number;
  /** The slot (due time) the publisher saw, ISO-8601. */
  slot: string;
  /** Who published it: api, periodic, retry, recovery, manual. */
  source: string;
  /** When it was published, ISO-8601. */
  enqueuedAt: string;
}

/** A delivered entry: either a message, or the raw fields of one that could not be parsed. */
export type StreamEntry =
  | { kind: 'message'; stream: string; id: string; message: TaskMessage; fields: Record<string, string> }
  | { kind: 'malformed'; stream: string; id: string; error: string; fields: Record<string, string> };

export function messageFields(message: TaskMessage): string[] {
  return ['task_id', String(message.taskId), 'slot', message.slot, 'source', message.source, 'enqueued_at', message.enqueuedAt];
}

/** Parses the flat field list Redis returns into an entry; anything unexpected becomes a malformed entry. */
export function parseEntry(stream: string, id: string, flat: readonly string[] | null): StreamEntry {
  const fields: Record<string, string> = {};
  for (let i = 0; flat !== null && i + 1 < flat.length; i += 2) fields[String(flat[i])] = String(flat[i + 1]);
  const taskId = Number(fields.task_id);
  if (fields.task_id === undefined || !/^\d{1,15}$/.test(fields.task_id) || taskId <= 0) {
    return { kind: 'malformed', stream, id, error: 'task_id is missing or not a positive integer', fields };
  }
  const slot = fields.slot ?? '';
  if (slot !== '' && Number.isNaN(Date.parse(slot))) {
    return { kind: 'malformed', stream, id, error: 'slot is not an ISO-8601 time', fields };
  }
  return {
    kind: 'message',
    stream,
    id,
    fields,
    message: { taskId, slot, source: fields.source ?? 'periodic', enqueuedAt: fields.enqueued_at ?? '' },
  };
}
