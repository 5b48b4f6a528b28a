import { Router } from 'express';
import {
  type DeadLetter,
  deadLetterDelete,
  deadLetterList,
  deadLetterTake,
  slotRunNowIn,
  withTransaction,
} from '../../store/index.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, NotFoundError } from '../errors.js';
import { type DeadLetterJson, deadLetterListQuerySchema } from '../ops-schemas.js';
import { pageToJson, taskToJson } from '../serializers.js';
import { parseTaskId } from '../task-input.js';
import { parseOrThrow } from '../validation-fields.js';

/** `/queue/dead`: list, replay (run the slot again) and delete dead letters. */
export function deadLettersRouter(deps: Pick<ApiDeps, 'store' | 'clock' | 'dispatcher'>): Router {
  const router = Router();
  const { store } = deps;

  router.get('/queue/dead', async (req, res) => {
    const query = parseOrThrow(deadLetterListQuerySchema, req.query, { rootName: 'query' });
    const page = await deadLetterList(store, query);
    res.json(pageToJson(page, deadLetterToJson));
  });

  router.post('/queue/dead/:id/replay', async (req, res) => {
    const id = parseTaskId(req.params.id);
    const now = new Date(deps.clock.now());
    const ttl = deps.dispatcher.queueMarkTtlMs;
    // Taking the dead letter and making its task due happen together, or not at all.
    const outcome = await withTransaction(store, async (trx) => {
      const taken = await deadLetterTake(trx, id);
      if (taken.kind !== 'replayed') return taken;
      const task = await slotRunNowIn(trx, { id: taken.taskId, now, queuedUntil: ttl === null ? null : new Date(now.getTime() + ttl) });
      if (task?.status === 'paused') {
        // Thrown inside the transaction, so the dead letter stays: a paused task runs nothing.
        throw new ApiError('conflict', `task ${task.id} is paused; resume it to replay its dead letter`, {
          fields: { status: 'paused' },
        });
      }
      return { kind: 'replayed' as const, task };
    });
    if (outcome.kind === 'not_found') throw deadLetterNotFound(id);
    if (outcome.kind === 'no_task' || outcome.task === undefined) {
      throw new ApiError('conflict', `dead letter ${id} names no existing task, so there is no slot to run again`, {
        fields: { task_id: 'no such task' },
      });
    }
    const { task } = outcome;
    const queuedVia = task.leaseToken === null ? await deps.dispatcher.dispatchRunNow(task) : 'poll';
    res.status(202).json({ replayed: id, task: taskToJson(task), queued_via: queuedVia });
  });

  router.delete('/queue/dead/:id', async (req, res) => {
    const id = parseTaskId(req.params.id);
    if (!(await deadLetterDelete(store, id))) throw deadLetterNotFound(id);
    res.status(204).end();
  });

  return router;
}

export function deadLetterToJson(letter: DeadLetter): DeadLetterJson {
  return {
    id: letter.id,
    task_id: letter.taskId,
    slot: letter.slot?.toISOString() ?? null,
    reason: letter.reason,
    error: letter.error,
    fields: letter.fields,
    created_at: letter.createdAt.toISOString(),
  };
}

function deadLetterNotFound(id: number): NotFoundError {
  return new NotFoundError(`dead letter ${id} does not exist`, { id: 'no dead letter with this id' });
}
