import { Batcher } from '../platform/batcher.js';
import type { Clock } from '../platform/clock.js';
import { toError } from '../platform/errors.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import {
  type Store,
  type Task,
  type TaskInsertParams,
  isStoreError,
  isStoreOutage,
  retryOnBusy,
  taskGetByIdempotencyKey,
  taskGetByKey,
  taskInsert,
  taskInsertMany,
} from '../store/index.js';
import { ApiError } from './errors.js';
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
  /** Inserts the row; default one INSERT per create. The API passes {@link batchedTaskInsert}. */
  insert?: ((params: TaskInsertParams) => Promise<Task>) | undefined;
}

/**
 * Inserts with group commit: the rows of concurrent creates go in together, one INSERT per batch. A batch the
 * database refuses for one row (a duplicate idempotency key) is inserted again row by row, so that only that
 * create sees the conflict.
 */
export function batchedTaskInsert(store: Store): (params: TaskInsertParams) => Promise<Task> {
  const batcher = new Batcher<TaskInsertParams, Task>((items) => retryOnBusy(() => taskInsertMany(store, items)), {
    maxBatch: 200,
    maxInFlight: 2,
    retryAlone: (err) => !isStoreOutage(err),
  });
  return (params) => batcher.submit(params);
}

export interface CreateTaskRequest {
  input: TaskCreateInput;
  /** Set when the client sent an `Idempotency-Key`; null otherwise. */
  idempotency: {
    key: string;
    /** sha256 of the canonical body; compared when the key was used before. */
    requestHash: string;
  } | null;
}

export type CreateTaskResult =
  | { replayed: false; task: Task; queuedVia: QueuedVia }
  /** An earlier request with the same key and body made the task; nothing new was created or dispatched. */
  | { replayed: true; task: Task; queuedVia: 'poll' };

export async function createTask(deps: CreateTaskDeps, request: CreateTaskRequest): Promise<CreateTaskResult> {
  const { idempotency } = request;
  if (idempotency !== null) {
    const earlier = await replayOf(deps.store, idempotency);
    if (earlier !== undefined) return earlier;
  }

  const now = new Date(deps.clock.now());
  const ttl = deps.dispatcher.queueMarkTtlMs;
  const insert = deps.insert ?? ((params: TaskInsertParams) => retryOnBusy(() => taskInsert(deps.store, params)));
  let task: Task;
  try {
    task = await insert({
      ...request.input,
      nextRunAt: now,
      queuedUntil: ttl === null ? null : new Date(now.getTime() + ttl),
      idempotencyKey: idempotency?.key ?? null,
      requestHash: idempotency?.requestHash ?? null,
      now,
    });
  } catch (err) {
    // Two requests with the same key raced past the lookup; the unique key let one insert win. Answer as if this
    // request had arrived second, which it did.
    if (idempotency !== null && isStoreError(err, 'conflict')) {
      const earlier = await replayOf(deps.store, idempotency);
      if (earlier !== undefined) return earlier;
    }
    // The unique key decides between concurrent creates with one task key (two `vigil apply` at once).
    if (request.input.key !== null && isStoreError(err, 'conflict')) await throwIfKeyTaken(deps.store, request.input.key);
    throw err;
  }

  deps.metrics.tasksCreated.inc();
  return { replayed: false, task, queuedVia: await dispatch(deps, task) };
}

/** Throws a 409 naming the `key` field when another task has this key; returns when none has. */
export async function throwIfKeyTaken(store: Store, key: string, exceptId?: number): Promise<void> {
  const owner = await taskGetByKey(store, key);
  if (owner === undefined || owner.id === exceptId) return;
  throw new ApiError('conflict', `the key "${key}" is already used by task ${owner.id}`, {
    fields: { key: `is already used by task ${owner.id}` },
  });
}

/** The task an earlier request with this key created, if any; a different body under the same key is a conflict. */
async function replayOf(
  store: Store,
  idempotency: NonNullable<CreateTaskRequest['idempotency']>,
): Promise<CreateTaskResult | undefined> {
  const found = await taskGetByIdempotencyKey(store, idempotency.key);
  if (found === undefined) return undefined;
  if (found.requestHash !== idempotency.requestHash) throw idempotencyConflict();
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
