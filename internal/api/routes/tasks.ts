import { Router } from 'express';
import {
  type Db,
  type JsonObject,
  type Page,
  channelIdsExisting,
  firstSlotAfter,
  isStoreError,
  notificationListByTask,
  runListByTask,
  slotRunNow,
  taskDelete,
  taskGetById,
  taskList,
  taskUpdate,
  withTransaction,
} from '../../store/index.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, type FieldErrors, NotFoundError, ValidationError } from '../errors.js';
import { IDEMPOTENCY_HEADER, REPLAYED_HEADER, readIdempotencyKey, requestHash } from '../idempotency.js';
import { runListQuerySchema, taskListQuerySchema } from '../schemas.js';
import { notificationToJson, pageToJson, runToJson, taskSpecToJson, taskToJson } from '../serializers.js';
import { batchedTaskInsert, createTask, throwIfKeyTaken } from '../task-create.js';
import { parseTaskCreate, parseTaskId, parseTaskPatch, resolveTaskPatch, sameSchedule } from '../task-input.js';
import { taskViewsToJson } from '../task-view.js';
import { parseOrThrow } from '../validation-fields.js';

type TaskHistoryParams = { taskId: number; limit: number; cursor?: string | undefined };

/**
 * `/tasks`: create, list, read, change, delete, and run history. Handlers validate, call the store, and serialise;
 * every failure is thrown and turned into a response by the error middleware (Express 5 forwards rejections).
 */

export function tasksRouter(deps: ApiDeps): Router {
  const router = Router();
  const { store, registry, clock } = deps;
  const createDeps = { ...deps, insert: batchedTaskInsert(store) };

  router.post('/tasks', async (req, res) => {
    const input = parseTaskCreate(req.body, registry);
    await checkChannels(store, input.notify);
    const key = readIdempotencyKey(req.get(IDEMPOTENCY_HEADER));
    // The body is hashed only when there is a key to compare it under.
    const idempotency = key === null ? null : { key, requestHash: requestHash(req.body) };
    const result = await createTask(createDeps, { input, idempotency });
    if (result.replayed) res.setHeader(REPLAYED_HEADER, 'true');
    res.status(201).json({ ...taskToJson(result.task), queued_via: result.queuedVia });
  });

  // Checks a create without making anything: 200 with the task as it would be stored (defaults filled in, the
  // payload as its type returns it), or the same 400 a create would get. `vigil apply` compares with this, so that
  // a file that leaves defaults out is not seen as a change on every run.
  router.post('/tasks/validate', (req, res) => {
    res.json(taskSpecToJson(parseTaskCreate(req.body, registry)));
  });

  router.get('/tasks', async (req, res) => {
    const query = parseOrThrow(taskListQuerySchema, req.query, { rootName: 'query' });
    const page = await taskList(store, {
      status: query.status,
      type: query.type,
      key: query.key,
      up: query.up === undefined ? undefined : query.up === 'true',
      nameContains: query.q,
      limit: query.limit,
      cursor: query.cursor,
    });
    res.json({ items: await taskViewsToJson(store, page.items), next_cursor: page.nextCursor });
  });

  router.get('/tasks/:id', async (req, res) => {
    const id = parseTaskId(req.params.id);
    const task = await taskGetById(store, id);
    if (task === undefined) throw taskNotFound(id);
    const [view] = await taskViewsToJson(store, [task]);
    res.json(view);
  });

  router.patch('/tasks/:id', async (req, res) => {
    const id = parseTaskId(req.params.id);
    const patch = parseTaskPatch(req.body, registry);
    const now = new Date(clock.now());
    // Read and write in one transaction, so that the payload is checked against the type the task really has.
    const updated = await withTransaction(store, async (trx) => {
      const task = await taskGetById(trx, id);
      if (task === undefined) throw taskNotFound(id);
      const changes = resolveTaskPatch(task, patch, registry);
      if (changes.notify !== undefined) await checkChannels(trx, changes.notify);
      // A new schedule starts a new cycle; re-sending the current schedule must not postpone the next slot.
      const nextRunAt =
        changes.schedule !== undefined && !sameSchedule(changes.schedule, task.schedule)
          ? firstSlotAfter(changes.schedule, now, id)
          : undefined;
      return taskUpdate(trx, { id, changes, nextRunAt, now });
    }).catch(async (err: unknown) => {
      if (typeof patch.key === 'string' && isStoreError(err, 'conflict')) await throwIfKeyTaken(store, patch.key, id);
      throw err;
    });
    // Deleted by someone else between the read and the write.
    if (updated === undefined) throw taskNotFound(id);
    res.json(taskToJson(updated));
  });

  router.delete('/tasks/:id', async (req, res) => {
    const id = parseTaskId(req.params.id);
    if (!(await taskDelete(store, id))) throw taskNotFound(id);
    res.status(204).end();
  });

  router.post('/tasks/:id/run', async (req, res) => {
    const id = parseTaskId(req.params.id);
    const now = new Date(clock.now());
    const ttl = deps.dispatcher.queueMarkTtlMs;
    const task = await slotRunNow(store, { id, now, queuedUntil: ttl === null ? null : new Date(now.getTime() + ttl) });
    if (task === undefined) throw taskNotFound(id);
    if (task.status === 'paused') {
      throw new ApiError('conflict', `task ${id} is paused; resume it to run it`, { fields: { status: 'paused' } });
    }
    // A task whose slot is running now keeps it; the run-now slot follows as soon as it ends.
    const queuedVia = task.leaseToken === null ? await deps.dispatcher.dispatchRunNow(task) : 'poll';
    res.status(202).json({ ...taskToJson(task), queued_via: queuedVia });
  });

  /** A page of a task's history, newest first. An empty history and a missing task are different answers. */
  function historyRoute<T, J>(
    path: `/tasks/:id/${string}`,
    list: (conn: Db, params: TaskHistoryParams) => Promise<Page<T>>,
    toJson: (item: T) => J,
  ): void {
    router.get(path, async (req, res) => {
      const id = parseTaskId(req.params.id);
      const query = parseOrThrow(runListQuerySchema, req.query, { rootName: 'query' });
      if ((await taskGetById(store, id)) === undefined) throw taskNotFound(id);
      const page = await list(store, { taskId: id, limit: query.limit, cursor: query.cursor });
      res.json(pageToJson(page, toJson));
    });
  }
  historyRoute('/tasks/:id/runs', runListByTask, runToJson);
  historyRoute('/tasks/:id/notifications', notificationListByTask, notificationToJson);

  return router;
}

/** Refuses a `notify.channels` that names a channel that does not exist, naming each such entry. */
async function checkChannels(conn: Db, notify: JsonObject | null): Promise<void> {
  const ids = Array.isArray(notify?.channels) ? (notify.channels as number[]) : [];
  if (ids.length === 0) return;
  const existing = await channelIdsExisting(conn, ids);
  const fields: FieldErrors = {};
  ids.forEach((id, i) => {
    if (!existing.has(id)) fields[`notify.channels.${i}`] = `no channel with id ${id}`;
  });
  if (Object.keys(fields).length > 0) throw new ValidationError(fields);
}

function taskNotFound(id: number): NotFoundError {
  return new NotFoundError(`task ${id} does not exist`, { id: 'no task with this id' });
}
