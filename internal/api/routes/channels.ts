import { Router } from 'express';
import { channelKindOf, isMask, maskConfig, mergeConfig } from '../../notify/index.js';
import {
  type Channel,
  type JsonObject,
  StoreError,
  channelDelete,
  channelGetById,
  channelInsert,
  channelList,
  channelUpdate,
  channelUsers,
  withTransaction,
} from '../../store/index.js';
import { type ChannelJson, channelCreateBodySchema, channelListQuerySchema, channelPatchBodySchema } from '../channel-schemas.js';
import type { ApiDeps } from '../deps.js';
import { ApiError, type FieldErrors, NotFoundError, ValidationError } from '../errors.js';
import { pageToJson } from '../serializers.js';
import { parseTaskId } from '../task-input.js';
import { fieldErrorsFromIssues, parseOrThrow } from '../validation-fields.js';

/**
 * `/channels`: notification channels, made once and used by many tasks through `notify.channels`. Secrets are
 * stored as sent and never answered whole: every response masks them. Deleting a channel that a task still lists
 * is refused (409, naming the tasks), so that no task loses an alert route without being told.
 */
export function channelsRouter(deps: Pick<ApiDeps, 'store' | 'clock' | 'channelSender'>): Router {
  const router = Router();
  const { store, clock } = deps;

  router.post('/channels', async (req, res) => {
    const body = parseOrThrow(channelCreateBodySchema, req.body);
    const config = body.config as JsonObject;
    refuseMasks(body.kind, config);
    const channel = await channelInsert(store, { name: body.name, kind: body.kind, config, now: new Date(clock.now()) }).catch(
      duplicateName(body.name),
    );
    res.status(201).json(channelToJson(channel));
  });

  router.get('/channels', async (req, res) => {
    const query = parseOrThrow(channelListQuerySchema, req.query, { rootName: 'query' });
    res.json(pageToJson(await channelList(store, query), channelToJson));
  });

  router.get('/channels/:id', async (req, res) => {
    const id = parseTaskId(req.params.id);
    res.json(channelToJson(await mustGet(id)));
  });

  router.patch('/channels/:id', async (req, res) => {
    const id = parseTaskId(req.params.id);
    if (req.body !== null && typeof req.body === 'object' && 'kind' in req.body) {
      throw new ValidationError({ kind: 'cannot be changed; create a channel of the other kind instead' });
    }
    const patch = parseOrThrow(channelPatchBodySchema, req.body);
    const now = new Date(clock.now());
    const updated = await withTransaction(store, async (trx) => {
      const channel = await channelGetById(trx, id);
      if (channel === undefined) throw channelNotFound(id);
      let config: JsonObject | undefined;
      if (patch.config !== undefined) {
        const kind = kindOf(channel.kind);
        const merged = mergeConfig(kind, channel.config, patch.config);
        const parsed = kind.configSchema.safeParse(merged);
        if (!parsed.success) throw new ValidationError(fieldErrorsFromIssues(parsed.error.issues, { prefix: ['config'], rootName: 'config' }));
        config = parsed.data as JsonObject;
        refuseMasks(channel.kind, config);
      }
      return channelUpdate(trx, { id, name: patch.name, config, now });
    }).catch(duplicateName(patch.name ?? ''));
    if (updated === undefined) throw channelNotFound(id);
    res.json(channelToJson(updated));
  });

  router.delete('/channels/:id', async (req, res) => {
    const id = parseTaskId(req.params.id);
    const outcome = await withTransaction(store, async (trx): Promise<{ users: number[] } | { deleted: boolean }> => {
      const users = await channelUsers(trx, id);
      if (users.length > 0) return { users };
      return { deleted: await channelDelete(trx, id) };
    });
    if ('users' in outcome) {
      const listed = outcome.users.slice(0, 20).join(', ') + (outcome.users.length > 20 ? ', …' : '');
      throw new ApiError(
        'conflict',
        `channel ${id} is used by ${outcome.users.length === 1 ? 'task' : 'tasks'} ${listed}; remove it from their notify.channels first`,
        { fields: { tasks: listed } },
      );
    }
    if (!outcome.deleted) throw channelNotFound(id);
    res.status(204).end();
  });

  router.post('/channels/:id/test', async (req, res) => {
    const id = parseTaskId(req.params.id);
    const channel = await mustGet(id);
    const delivery = await deps.channelSender.test(channel, new Date(clock.now()));
    res.json(delivery);
  });

  async function mustGet(id: number): Promise<Channel> {
    const channel = await channelGetById(store, id);
    if (channel === undefined) throw channelNotFound(id);
    return channel;
  }

  return router;
}

/** A channel as the API shows it: secrets masked. */
export function channelToJson(channel: Channel): ChannelJson {
  const kind = channelKindOf(channel.kind);
  return {
    id: channel.id,
    name: channel.name,
    kind: channel.kind,
    // A kind this process does not know (a newer version wrote it) shows no config at all rather than secrets.
    config: kind === undefined ? {} : maskConfig(kind, channel.config),
    created_at: channel.createdAt.toISOString(),
    updated_at: channel.updatedAt.toISOString(),
  };
}

function kindOf(name: string) {
  const kind = channelKindOf(name);
  if (kind === undefined) throw new ApiError('conflict', `channel kind ${JSON.stringify(name)} is not known to this version`, { fields: { kind: 'unknown' } });
  return kind;
}

/** A secret field holding a mask (`****`) was meant to be the secret itself. */
function refuseMasks(kindName: string, config: JsonObject): void {
  const kind = kindOf(kindName);
  const fields: FieldErrors = {};
  for (const field of Object.keys(kind.secrets)) {
    if (isMask(config[field])) fields[`config.${field}`] = 'must be the secret itself, not its mask';
  }
  if (Object.keys(fields).length > 0) throw new ValidationError(fields);
}

function duplicateName(name: string): (err: unknown) => never {
  return (err) => {
    if (err instanceof StoreError && err.code === 'conflict') {
      throw new ApiError('conflict', `a channel named ${JSON.stringify(name)} already exists`, { fields: { name: 'already taken' } });
    }
    throw err;
  };
}

function channelNotFound(id: number): NotFoundError {
  return new NotFoundError(`channel ${id} does not exist`, { id: 'no channel with this id' });
}
