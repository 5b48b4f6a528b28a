import { z } from 'zod';
import type { HandlerRegistry } from '../handlers/index.js';
import {
  deadLetterListJsonSchema,
  deadLetterListQuerySchema,
  notificationListJsonSchema,
  queueJsonSchema,
  statsJsonSchema,
} from './ops-schemas.js';
import {
  errorBodySchema,
  healthReportJsonSchema,
  readyJsonSchema,
  runListJsonSchema,
  runListQuerySchema,
  taskCreateBodySchema,
  taskCreatedJsonSchema,
  taskJsonSchema,
  taskListJsonSchema,
  taskListQuerySchema,
  taskPatchBodySchema,
} from './schemas.js';

type JsonSchema = Record<string, unknown>;

interface Operation {
  method: 'get' | 'post' | 'patch' | 'delete';
  path: string;
  summary: string;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Status → response schema (undefined for an empty body). */
  responses: Record<number, z.ZodType | undefined>;
  /** Open without a token. */
  open?: boolean;
}

const taskRunNowJsonSchema = taskCreatedJsonSchema.meta({ id: 'TaskRunNow' });
const replayJsonSchema = z
  .strictObject({ replayed: z.int().positive(), task: taskJsonSchema, queued_via: z.enum(['stream', 'direct', 'poll']) })
  .meta({ id: 'DeadLetterReplay' });
const metricsTextSchema = z.string().meta({ description: 'Prometheus text exposition format.' });
const openApiSchema = z.record(z.string(), z.unknown()).meta({ description: 'This document.' });

/** Every route the API serves. The OpenAPI test checks this list against the express router, both ways. */
export const OPERATIONS: readonly Operation[] = [
  { method: 'post', path: '/tasks', summary: 'Create a task', body: taskCreateBodySchema, responses: { 201: taskCreatedJsonSchema, 400: errorBodySchema, 409: errorBodySchema, 413: errorBodySchema, 415: errorBodySchema, 503: errorBodySchema } },
  { method: 'get', path: '/tasks', summary: 'List tasks', query: taskListQuerySchema, responses: { 200: taskListJsonSchema, 400: errorBodySchema } },
  { method: 'get', path: '/tasks/{id}', summary: 'Read a task', responses: { 200: taskJsonSchema, 404: errorBodySchema } },
  { method: 'patch', path: '/tasks/{id}', summary: 'Change a task (including pause and resume)', body: taskPatchBodySchema, responses: { 200: taskJsonSchema, 400: errorBodySchema, 404: errorBodySchema } },
  { method: 'delete', path: '/tasks/{id}', summary: 'Delete a task and its runs', responses: { 204: undefined, 404: errorBodySchema } },
  { method: 'post', path: '/tasks/{id}/run', summary: 'Run a task now', responses: { 202: taskRunNowJsonSchema, 404: errorBodySchema, 409: errorBodySchema } },
  { method: 'get', path: '/tasks/{id}/runs', summary: 'Run history, newest first', query: runListQuerySchema, responses: { 200: runListJsonSchema, 404: errorBodySchema } },
  { method: 'get', path: '/tasks/{id}/notifications', summary: 'Webhook notifications and every delivery attempt, newest first', query: runListQuerySchema, responses: { 200: notificationListJsonSchema, 404: errorBodySchema } },
  { method: 'get', path: '/stats', summary: 'Task and run totals, per type', responses: { 200: statsJsonSchema } },
  { method: 'get', path: '/queue', summary: 'Queue health', responses: { 200: queueJsonSchema } },
  { method: 'get', path: '/queue/dead', summary: 'List dead letters, newest first', query: deadLetterListQuerySchema, responses: { 200: deadLetterListJsonSchema } },
  { method: 'post', path: '/queue/dead/{id}/replay', summary: 'Run a dead letter’s slot again', responses: { 202: replayJsonSchema, 404: errorBodySchema, 409: errorBodySchema } },
  { method: 'delete', path: '/queue/dead/{id}', summary: 'Delete a dead letter', responses: { 204: undefined, 404: errorBodySchema } },
  { method: 'get', path: '/healthz', summary: 'Liveness and dependency state', responses: { 200: healthReportJsonSchema }, open: true },
  { method: 'get', path: '/readyz', summary: 'Readiness: 200 when the store answers', responses: { 200: readyJsonSchema, 503: errorBodySchema }, open: true },
  { method: 'get', path: '/metrics', summary: 'Prometheus metrics', responses: { 200: metricsTextSchema }, open: true },
  { method: 'get', path: '/openapi.json', summary: 'This document', responses: { 200: openApiSchema }, open: true },
];

/**
 * The OpenAPI 3.1 document, generated from the same zod schemas that validate requests and shape responses
 * (requests as their input type, responses as their output type). Schemas with a meta id become components; each
 * registered task type's payload schema is published as `Payload_<type>`.
 */
export function buildOpenApiDocument(registry: HandlerRegistry, options: { version: string }): JsonSchema {
  const components: Record<string, JsonSchema> = {};
  const convert = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
    const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
    const defs = (json.$defs ?? {}) as Record<string, JsonSchema>;
    delete json.$defs;
    delete json.$schema;
    for (const [name, def] of Object.entries(defs)) components[name] ??= rewriteRefs(def);
    return rewriteRefs(json);
  };

  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const parameters: unknown[] = [];
    if (op.path.includes('{id}')) {
      parameters.push({ name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } });
    }
    if (op.query !== undefined) {
      const query = convert(op.query, 'input');
      const resolved = (query.$ref === undefined ? query : components[String(query.$ref).split('/').pop() ?? '']) ?? {};
      const properties = (resolved.properties ?? {}) as Record<string, JsonSchema>;
      const required = new Set((resolved.required ?? []) as string[]);
      for (const [name, schema] of Object.entries(properties)) {
        parameters.push({ name, in: 'query', required: required.has(name), schema });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(op.responses)) {
      responses[status] =
        schema === undefined
          ? { description: 'No content' }
          : {
              description: Number(status) < 400 ? 'OK' : 'Error',
              content: {
                [op.path === '/metrics' ? 'text/plain' : 'application/json']: { schema: convert(schema, 'output') },
              },
            };
    }
    if (!op.open) responses['401'] = { description: 'Missing or wrong bearer token', content: { 'application/json': { schema: convert(errorBodySchema, 'output') } } };
    paths[op.path] = {
      ...paths[op.path],
      [op.method]: {
        summary: op.summary,
        ...(parameters.length > 0 ? { parameters } : {}),
        ...(op.body === undefined
          ? {}
          : { requestBody: { required: true, content: { 'application/json': { schema: convert(op.body, 'input') } } } }),
        responses,
        ...(op.open ? { security: [] } : {}),
      },
    };
  }
  for (const name of registry.names()) {
    const type = registry.get(name);
    if (type !== undefined) components[`Payload_${name}`] = convert(type.payloadSchema, 'input');
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Vigil',
      version: options.version,
      description: 'A durable scheduler for periodic monitoring tasks.',
    },
    security: [{ bearer: [] }],
    paths,
    components: { schemas: components, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  };
}

/** zod writes references to `#/$defs/X`; in an OpenAPI document they live under `#/components/schemas/X`. */
function rewriteRefs<T>(value: T): T {
  return JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', '"#/components/schemas/')) as T;
}
