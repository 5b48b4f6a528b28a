import { z } from 'zod';
import type { HandlerRegistry } from '../handlers/index.js';
import {
  channelCreateBodySchema,
  channelJsonSchema,
  channelListJsonSchema,
  channelListQuerySchema,
  channelPatchBodySchema,
  channelTestJsonSchema,
} from './channel-schemas.js';
import {
  deadLetterListJsonSchema,
  deadLetterListQuerySchema,
  notificationListJsonSchema,
  queueJsonSchema,
  infoJsonSchema,
  runStatsJsonSchema,
  runStatsQuerySchema,
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
  taskSpecJsonSchema,
} from './schemas.js';

type JsonSchema = Record<string, unknown>;

interface Operation {
  method: 'get' | 'post' | 'patch' | 'delete';
  path: string;
  /** Stable and unique: generated clients name their methods after it. */
  operationId: string;
  summary: string;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Status → response schema (undefined for an empty body). */
  responses: Record<number, z.ZodType | undefined>;
  /** Open without a token. */
  open?: boolean;
  /** Never rate limited (probes and scrapes). */
  unlimited?: boolean;
  /** Media type of the successful responses. Default `application/json`. */
  contentType?: string;
  /** A POST that changes nothing, so that a `read` token may call it. */
  readOnly?: boolean;
}

const taskRunNowJsonSchema = taskCreatedJsonSchema.meta({ id: 'TaskRunNow' });
const replayJsonSchema = z
  .strictObject({ replayed: z.int().positive(), task: taskJsonSchema, queued_via: z.enum(['stream', 'direct', 'poll']) })
  .meta({ id: 'DeadLetterReplay' });
const metricsTextSchema = z.string().meta({ description: 'Prometheus text exposition format.' });
const openApiSchema = z.record(z.string(), z.unknown()).meta({ description: 'This document.' });
const dashboardHtmlSchema = z.string().meta({ description: 'The dashboard (a single-page app), or how to build it.' });
const E = errorBodySchema;

/** Every route the API serves. The OpenAPI test checks this list against the express router, both ways. */
export const OPERATIONS: readonly Operation[] = [
  { method: 'post', path: '/tasks', operationId: 'createTask', summary: 'Create a task', body: taskCreateBodySchema, responses: { 201: taskCreatedJsonSchema, 400: E, 409: E, 413: E, 415: E, 503: E } },
  { method: 'post', path: '/tasks/validate', operationId: 'validateTask', summary: 'Check a task without creating it: the task as it would be stored, defaults filled in', body: taskCreateBodySchema, responses: { 200: taskSpecJsonSchema, 400: E, 413: E, 415: E }, readOnly: true },
  { method: 'get', path: '/tasks', operationId: 'listTasks', summary: 'List tasks', query: taskListQuerySchema, responses: { 200: taskListJsonSchema, 400: E } },
  { method: 'get', path: '/tasks/{id}', operationId: 'getTask', summary: 'Read a task', responses: { 200: taskJsonSchema, 400: E, 404: E } },
  { method: 'patch', path: '/tasks/{id}', operationId: 'updateTask', summary: 'Change a task (including pause and resume)', body: taskPatchBodySchema, responses: { 200: taskJsonSchema, 400: E, 404: E, 409: E, 413: E, 415: E } },
  { method: 'delete', path: '/tasks/{id}', operationId: 'deleteTask', summary: 'Delete a task and its runs', responses: { 204: undefined, 400: E, 404: E } },
  { method: 'post', path: '/tasks/{id}/run', operationId: 'runTask', summary: 'Run a task now', responses: { 202: taskRunNowJsonSchema, 400: E, 404: E, 409: E } },
  { method: 'get', path: '/tasks/{id}/runs', operationId: 'listTaskRuns', summary: 'Run history, newest first', query: runListQuerySchema, responses: { 200: runListJsonSchema, 400: E, 404: E } },
  { method: 'get', path: '/tasks/{id}/notifications', operationId: 'listTaskNotifications', summary: 'Notifications (webhook_url and channels) and every delivery attempt, newest first', query: runListQuerySchema, responses: { 200: notificationListJsonSchema, 400: E, 404: E } },
  { method: 'post', path: '/channels', operationId: 'createChannel', summary: 'Create a notification channel', body: channelCreateBodySchema, responses: { 201: channelJsonSchema, 400: E, 409: E, 413: E, 415: E } },
  { method: 'get', path: '/channels', operationId: 'listChannels', summary: 'List channels (secrets masked)', query: channelListQuerySchema, responses: { 200: channelListJsonSchema, 400: E } },
  { method: 'get', path: '/channels/{id}', operationId: 'getChannel', summary: 'Read a channel (secrets masked)', responses: { 200: channelJsonSchema, 400: E, 404: E } },
  { method: 'patch', path: '/channels/{id}', operationId: 'updateChannel', summary: 'Change a channel’s name or config', body: channelPatchBodySchema, responses: { 200: channelJsonSchema, 400: E, 404: E, 409: E, 413: E, 415: E } },
  { method: 'delete', path: '/channels/{id}', operationId: 'deleteChannel', summary: 'Delete a channel no task uses (409 names the tasks that do)', responses: { 204: undefined, 400: E, 404: E, 409: E } },
  { method: 'post', path: '/channels/{id}/test', operationId: 'testChannel', summary: 'Send a test message and report what the other side answered', responses: { 200: channelTestJsonSchema, 400: E, 404: E } },
  { method: 'get', path: '/stats', operationId: 'getStats', summary: 'Task and run totals, per type', responses: { 200: statsJsonSchema } },
  { method: 'get', path: '/queue', operationId: 'getQueue', summary: 'Queue health', responses: { 200: queueJsonSchema } },
  { method: 'get', path: '/queue/dead', operationId: 'listDeadLetters', summary: 'List dead letters, newest first', query: deadLetterListQuerySchema, responses: { 200: deadLetterListJsonSchema, 400: E } },
  { method: 'post', path: '/queue/dead/{id}/replay', operationId: 'replayDeadLetter', summary: 'Run a dead letter’s slot again', responses: { 202: replayJsonSchema, 400: E, 404: E, 409: E } },
  { method: 'delete', path: '/queue/dead/{id}', operationId: 'deleteDeadLetter', summary: 'Delete a dead letter', responses: { 204: undefined, 400: E, 404: E } },
  { method: 'get', path: '/healthz', operationId: 'getHealth', summary: 'Liveness and dependency state', responses: { 200: healthReportJsonSchema }, open: true, unlimited: true },
  { method: 'get', path: '/readyz', operationId: 'getReady', summary: 'Readiness: 200 when the store answers', responses: { 200: readyJsonSchema, 503: E }, open: true, unlimited: true },
  { method: 'get', path: '/metrics', operationId: 'getMetrics', summary: 'Prometheus metrics', responses: { 200: metricsTextSchema }, open: true, unlimited: true },
  { method: 'get', path: '/openapi.json', operationId: 'getOpenApi', summary: 'This document', responses: { 200: openApiSchema }, open: true },
  { method: 'get', path: '/stats/runs', operationId: 'getRunStats', summary: 'Attempts per minute by status, and first-attempt lateness', query: runStatsQuerySchema, responses: { 200: runStatsJsonSchema, 400: E } },
  { method: 'get', path: '/info', operationId: 'getInfo', summary: 'Version, read-only mode, whether a token is needed and what the one sent may do, task types', responses: { 200: infoJsonSchema }, open: true },
  { method: 'get', path: '/ui', operationId: 'getDashboard', summary: 'The dashboard, at /ui/ (/ui redirects there; deep links such as /ui/tasks/12 serve the same page)', responses: { 200: dashboardHtmlSchema, 301: undefined, 503: dashboardHtmlSchema }, open: true, unlimited: true, contentType: 'text/html' },
  { method: 'get', path: '/', operationId: 'getRoot', summary: 'Redirects to the dashboard', responses: { 302: undefined }, open: true, unlimited: true },
];

/** What each status means, wherever it appears. */
const STATUS_DESCRIPTIONS: Readonly<Record<number, string>> = {
  200: 'OK',
  201: 'Created',
  202: 'Accepted: the slot is due and queued',
  204: 'No content',
  301: 'Moved: see the Location header',
  302: 'Found: see the Location header',
  400: 'The request is invalid or could not be read; `error.fields` names each bad field',
  401: 'Missing or wrong bearer token',
  403: 'The token has the `read` scope, which cannot make changes; or the change came from a read-only dashboard',
  404: 'No such resource',
  409: 'Conflicts with the current state; `error.fields` names the field',
  413: 'The body is larger than 64 KiB',
  415: 'The body is not JSON',
  429: 'Too many requests from this token or address; `Retry-After` says in how many seconds to try again',
  503: 'The database is unavailable; `Retry-After` says in how many seconds to try again',
};

/**
 * The OpenAPI 3.1 document, generated from the same zod schemas that validate requests and shape responses
 * (requests as their input type, responses as their output type). Schemas with a meta id become components; each
 * registered task type's payload schema is published as `Payload_<type>`. Responses every request may get from the
 * middleware (401, 403 for a `read` token, 429, 400 for a request that cannot be read) are added here, so that the
 * list above names only what each route itself answers.
 */
export function buildOpenApiDocument(registry: HandlerRegistry, options: { version: string; serverUrl?: string }): JsonSchema {
  const components: Record<string, JsonSchema> = {};
  const convert = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
    const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
    const defs = (json.$defs ?? {}) as Record<string, JsonSchema>;
    delete json.$defs;
    delete json.$schema;
    for (const [name, def] of Object.entries(defs)) components[name] ??= rewriteRefs(def);
    return rewriteRefs(json);
  };
  const errorContent = () => ({ 'application/json': { schema: convert(errorBodySchema, 'output') } });
  const retryAfter = { 'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer', minimum: 1 } } };
  // Query objects are spread into parameters; their components would be left unused.
  const queryComponents = new Set<string>();

  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const parameters: unknown[] = [];
    if (op.path.includes('{id}')) {
      parameters.push({ name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } });
    }
    if (op.query !== undefined) {
      const query = convert(op.query, 'input');
      const refName = query.$ref === undefined ? undefined : String(query.$ref).split('/').pop();
      if (refName !== undefined) queryComponents.add(refName);
      const resolved = (refName === undefined ? query : components[refName]) ?? {};
      const properties = (resolved.properties ?? {}) as Record<string, JsonSchema>;
      const required = new Set((resolved.required ?? []) as string[]);
      for (const [name, schema] of Object.entries(properties)) {
        const { description, ...rest } = schema;
        parameters.push({ name, in: 'query', required: required.has(name), ...(description === undefined ? {} : { description }), schema: rest });
      }
    }
    const statuses: Record<number, z.ZodType | undefined> = { ...op.responses };
    statuses[400] ??= errorBodySchema;
    if (!op.open) statuses[401] = errorBodySchema;
    if (!op.open && op.method !== 'get' && op.readOnly !== true) statuses[403] = errorBodySchema;
    if (op.unlimited !== true) statuses[429] = errorBodySchema;
    const responses: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(statuses)) {
      const status = Number(key);
      const description = STATUS_DESCRIPTIONS[status] ?? 'See the error';
      if (schema === undefined) {
        responses[key] = { description };
        continue;
      }
      responses[key] = {
        description,
        ...(status === 429 || status === 503 ? { headers: retryAfter } : {}),
        content:
          schema === errorBodySchema
            ? errorContent()
            : { [op.path === '/metrics' ? 'text/plain' : (op.contentType ?? 'application/json')]: { schema: convert(schema, 'output') } },
      };
    }
    paths[op.path] = {
      ...paths[op.path],
      [op.method]: {
        operationId: op.operationId,
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
  for (const name of queryComponents) delete components[name];
  for (const name of registry.names()) {
    const type = registry.get(name);
    if (type !== undefined) components[`Payload_${name}`] = convert(type.payloadSchema, 'input');
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Vigil',
      version: options.version,
      description:
        'A durable scheduler for periodic monitoring tasks. Errors are `{"error":{"code","message","fields"}}`, with ' +
        '`fields` naming each bad field. Each registered task type\'s payload schema is published as `Payload_<type>`.',
    },
    servers: [{ url: options.serverUrl ?? '/', description: 'The server that serves this document' }],
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'A token from APP_API_TOKENS. A `read` token may call GET operations and `validateTask`; everything else needs `write`.',
        },
      },
    },
  };
}

/** zod writes references to `#/$defs/X`; in an OpenAPI document they live under `#/components/schemas/X`. */
function rewriteRefs<T>(value: T): T {
  return JSON.parse(JSON.stringify(value).replaceAll('"#/$defs/', '"#/components/schemas/')) as T;
}
