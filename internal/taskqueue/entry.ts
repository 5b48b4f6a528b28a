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

/**
 * The times a slot may name: what every store can hold (MySQL's DATETIME(3) columns and the ISO-8601 text SQLite
 * sorts), so that a slot that parses here never fails later when its run or its dead letter is written.
 */
export const SLOT_MIN_MS = Date.UTC(1970, 0, 1);
export const SLOT_MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
// Expanded years (`+010000-…`) parse too, so that they are refused for their range, which says more.
const ISO_TIME = /^([+-]\d{6}|\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Why `slot` is not a time the store can hold, or undefined when it is one. */
export function slotProblem(slot: string): string | undefined {
  if (!ISO_TIME.test(slot)) return 'slot is not an ISO-8601 time such as 2025-01-02T03:04:05.000Z';
  const at = Date.parse(slot);
  if (Number.isNaN(at)) return 'slot is not an ISO-8601 time such as 2025-01-02T03:04:05.000Z';
  if (at < SLOT_MIN_MS || at > SLOT_MAX_MS) return 'slot is outside the times the store can hold (years 1970 to 9999)';
  return undefined;
}

/**
 * Parses the flat field list Redis returns into an entry; anything unexpected becomes a malformed entry. It is as
 * strict as the database: a slot the store could not hold is malformed here, not a failure when it is written.
 */
export function parseEntry(stream: string, id: string, flat: readonly string[] | null): StreamEntry {
  const fields: Record<string, string> = {};
  for (let i = 0; flat !== null && i + 1 < flat.length; i += 2) fields[String(flat[i])] = String(flat[i + 1]);
  const taskId = Number(fields.task_id);
  if (fields.task_id === undefined || !/^\d{1,15}$/.test(fields.task_id) || taskId <= 0) {
    return { kind: 'malformed', stream, id, error: 'task_id is missing or not a positive integer', fields };
  }
  const slot = fields.slot ?? '';
  const problem = slot === '' ? undefined : slotProblem(slot);
  if (problem !== undefined) return { kind: 'malformed', stream, id, error: problem, fields };
  return {
    kind: 'message',
    stream,
    id,
    fields,
    message: { taskId, slot, source: fields.source ?? 'periodic', enqueuedAt: fields.enqueued_at ?? '' },
  };
}

/** How a dead letter names the stream entry it was made from: unique per entry, whatever the deliveries. */
export function entryKeyOf(entry: { stream: string; id: string }): string {
  return `${entry.stream}/${entry.id}`;
}
