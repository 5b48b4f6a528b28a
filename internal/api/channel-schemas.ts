import { z } from 'zod';
import { CHANNEL_KINDS, CHANNEL_KIND_NAMES } from '../notify/index.js';
import { isoTimeSchema, listJsonSchema, listQuerySchema } from './schemas.js';

/**
 * Wire format of `/channels`, as zod schemas that validate requests and generate their part of `/openapi.json`.
 * Each kind's `config` schema lives with the kind in `internal/notify/kinds/`; this file only puts them together.
 */

export const channelNameSchema = z
  .string()
  .min(1, { error: 'must not be empty' })
  .max(200, { error: 'must be at most 200 characters' })
  .meta({ description: 'Unique among channels.' });

const kindError = `must be one of ${CHANNEL_KIND_NAMES.join(', ')}`;

export const channelKindSchema = z.enum(CHANNEL_KIND_NAMES as [string, ...string[]], { error: kindError });

const [firstKind, ...otherKinds] = CHANNEL_KINDS.map((kind) =>
  z
    .strictObject({ name: channelNameSchema, kind: z.literal(kind.kind), config: kind.configSchema })
    .meta({ id: `ChannelCreate_${kind.kind}`, description: kind.description }),
);
if (firstKind === undefined) throw new Error('no channel kinds');

export const channelCreateBodySchema = z
  .discriminatedUnion('kind', [firstKind, ...otherKinds], { error: kindError })
  .meta({ id: 'ChannelCreate', description: 'The body of `POST /channels`: a name, a kind, and that kind’s config.' });

export const channelPatchBodySchema = z
  .strictObject({
    name: channelNameSchema.optional(),
    config: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({
        description:
          'Fields to change, laid over the stored config: `null` removes an optional field, and a secret sent back masked (as the API shows it) is kept.',
      }),
  })
  .refine((body) => body.name !== undefined || body.config !== undefined, { error: 'must change name or config' })
  .meta({ id: 'ChannelPatch', description: 'The body of `PATCH /channels/{id}`. The kind cannot change.' });

export type ChannelPatchBody = z.output<typeof channelPatchBodySchema>;

export const channelListQuerySchema = listQuerySchema({ kind: channelKindSchema.optional() }, 'ChannelListQuery');

export const channelJsonSchema = z
  .strictObject({
    id: z.int().positive(),
    name: z.string(),
    kind: channelKindSchema,
    config: z
      .record(z.string(), z.unknown())
      .meta({ description: 'The kind’s config, secrets masked (`****`, or a URL’s scheme and host then `/…/****`).' }),
    created_at: isoTimeSchema,
    updated_at: isoTimeSchema,
  })
  .meta({ id: 'Channel' });

export type ChannelJson = z.output<typeof channelJsonSchema>;

export const channelListJsonSchema = listJsonSchema(channelJsonSchema, 'ChannelList');

export const channelTestJsonSchema = z
  .strictObject({
    ok: z.boolean().meta({ description: 'The other side accepted the test message.' }),
    status_code: z.int().nullable().meta({ description: 'Its HTTP status or SMTP reply code; null when it did not answer.' }),
    response: z.string().nullable().meta({ description: 'The start of its answer.' }),
    error: z.string().nullable().meta({ description: 'Why the test failed; never contains the channel’s secrets.' }),
    duration_ms: z.int().nonnegative(),
  })
  .meta({ id: 'ChannelTestResult' });
