import type { Clock } from '../platform/clock.js';
import { toError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import { type Store, type Task, isStoreError, retryOnBusy, taskGetByIdempotencyKey, taskInsert } from '../store/index.js';
import { idempotencyConflict } from './idempotency.js';
import type { QueuedVia, TaskDispatcher } from './ports.js';
import type { TaskCreateInput } from './task-input.js';

/**
 * Creating a task (DESIGN §1): commit the row, then tell the scheduling side. The row is due whatever happens to
 * that second step, so a create never fails once the row is committed (G1), and an `Idempotency-Key` makes a
 * retried create return the first task instead of making another.
 */

export interface CreateTaskDeps {
  store: Store;
  dispatcher: TaskDispatcher;
  metrics: Metrics;
  clock: Clock;
  logger: Logger;
}

export interface CreateTaskRequest {
  input: TaskCreateInput;
  /** From the `Idempotency-Key` header; null when the client sent none. */
  idempotencyKey: string | null;
  /** sha256 of the canonical body; compared when the key was used before. */
  requestHash: string;
}

export type CreateTaskResult =
  | { replayed: false; task: Task; queuedVia: QueuedVia }
  /** An earlier request with the same key and body made the task; nothing new was created or dispatched. */
  | { replayed: true; task: Task; queuedVia: 'poll' };

export async function createTask(deps: CreateTaskDeps, request: CreateTaskRequest): Promise<CreateTaskResult> {
  const { idempotencyKey } = request;
  if (idempotencyKey !== null) {
    const earlier = await replayOf(deps.store, idempotencyKey, request.requestHash);
    if (earlier !== undefined) return earlier;
  }

  const now = new Date(deps.clock.now());
  const ttl = deps.dispatcher.queueMarkTtlMs;
  let task: Task;
  try {
    task = await retryOnBusy(() =>
      taskInsert(deps.store, {
        ...request.input,
        nextRunAt: now,
        queuedUntil: ttl === null ? null : new Date(now.getTime() + ttl),
        idempotencyKey,
        requestHash: idempotencyKey === null ? null : request.requestHash,
        now,
      }),
    );
  } catch (err) {
    // Two requests with the same key raced past the lookup; the unique key let one insert win. Answer as if this
    // request had arrived second, which it did.
    if (idempotencyKey !== null && isStoreError(err, 'conflict')) {
      const earlier = await replayOf(deps.store, idempotencyKey, request.requestHash);
      if (earlier !== undefined) return earlier;
    }
    throw err;
  }

  deps.metrics.tasksCreated.inc();
  return { replayed: false, task, queuedVia: await dispatch(deps, task) };
}

/** The task an earlier request with this key created, if any; a different body under the same key is a conflict. */
async function replayOf(store: Store, key: string, hash: string): Promise<CreateTaskResult | undefined> {
  const found = await taskGetByIdempotencyKey(store, key);
  if (found === undefined) return undefined;
  if (found.requestHash !== hash) throw idempotencyConflict();
  // The task is already known to the scheduler, which finds it due by polling or periodic publishing.
  return { replayed: true, task: found.task, queuedVia: 'poll' };
}

/** The dispatcher promises not to throw; if one does anyway, the row is still due and the poller will find it. */
async function dispatch(deps: CreateTaskDeps, task: Task): Promise<QueuedVia> {
  try {
    return await deps.dispatcher.dispatchNew(task);
  } catch (err) {
    deps.logger.warn({ err: toError(err), taskId: task.id }, 'dispatching a new task failed; it will be picked up by polling');
    return 'poll';
  }
}
