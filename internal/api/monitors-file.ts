import { z } from 'zod';
import { taskCreateBodySchema, taskKeySchema } from './schemas.js';

/**
 * The monitors file of `vigil apply -f` / `vigil export`, as a zod schema built from the API's own create schema:
 * each monitor is the body of `POST /tasks` with a required `key`. It exists to generate the file's JSON Schema
 * (`docs/monitors.schema.json`, for editors); the server checks each monitor itself when it is applied.
 */
export const monitorSchema = taskCreateBodySchema
  .extend({ key: taskKeySchema })
  .meta({
    id: 'Monitor',
    description: 'A task kept as code: the body of `POST /tasks` with a required, unique `key`. Fields left out take their defaults.',
  });

export const monitorsFileSchema = z
  .strictObject({
    monitors: z.array(monitorSchema).meta({ description: 'The monitors; `key`s are unique within the file.' }),
  })
  .meta({
    title: 'Vigil monitors file',
    description: '`vigil apply -f FILE` makes a Vigil server match this file; `vigil export` writes one.',
  });
