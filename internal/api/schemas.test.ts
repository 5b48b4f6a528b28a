import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { canonicalJson, requestHash } from './idempotency.js';
import {
  errorBodySchema,
  healthReportJsonSchema,
  readyJsonSchema,
  runListJsonSchema,
  runListQuerySchema,
  taskCreateBodySchema,
  taskCreatedJsonSchema,
  taskListJsonSchema,
  taskListQuerySchema,
  taskPatchBodySchema,
} from './schemas.js';
import { fieldErrorsFromIssues } from './validation-fields.js';

describe('schemas', () => {
  it('generate JSON Schema for OpenAPI, requests as input and responses as output', () => {
    const requests = { taskCreateBodySchema, taskPatchBodySchema, taskListQuerySchema, runListQuerySchema };
    const responses = { taskCreatedJsonSchema, taskListJsonSchema, runListJsonSchema, errorBodySchema, healthReportJsonSchema, readyJsonSchema };
    for (const schema of Object.values(requests)) expect(() => z.toJSONSchema(schema, { io: 'input' })).not.toThrow();
    for (const schema of Object.values(responses)) expect(() => z.toJSONSchema(schema, { io: 'output' })).not.toThrow();

    type ObjectSchema = { additionalProperties?: unknown; required?: string[]; properties?: Record<string, { default?: unknown }> };
    const document = z.toJSONSchema(taskCreateBodySchema, { io: 'input' }) as { $defs?: Record<string, ObjectSchema> };
    // Schemas with a meta id become named definitions: the components of the OpenAPI document.
    expect(Object.keys(document.$defs ?? {})).toEqual(expect.arrayContaining(['TaskCreate', 'Schedule', 'Notify']));
    const create = document.$defs?.TaskCreate ?? {};
    expect(create.additionalProperties).toBe(false);
    expect(create.required?.sort()).toEqual(['name', 'schedule', 'type']);
    expect(create.properties?.priority?.default).toBe(3);
  });

  it('apply the documented defaults to a minimal create', () => {
    expect(taskCreateBodySchema.parse({ name: 'n', type: 'noop', schedule: { every: 1 } })).toEqual({
      name: 'n',
      type: 'noop',
      payload: {},
      schedule: { every: 1 },
      priority: 3,
      timeout_ms: 30_000,
      max_attempts: 3,
      status: 'running',
    });
  });

  it('accept six-field cron lines and refuse lines with no occurrence', () => {
    expect(taskCreateBodySchema.safeParse({ name: 'n', type: 'noop', schedule: { cron: '*/10 * * * * *' } }).success).toBe(true);
    const impossible = taskCreateBodySchema.safeParse({ name: 'n', type: 'noop', schedule: { cron: '0 0 30 2 *' } });
    expect(impossible.success).toBe(false);
    expect(fieldErrorsFromIssues(impossible.error?.issues ?? [])).toHaveProperty(['schedule.cron']);
  });
});

describe('field errors', () => {
  it('names unknown keys at their own path and follows the union branch the value was closest to', () => {
    const result = taskCreateBodySchema.safeParse({ name: 'n', type: 'noop', schedule: { cron: 5 }, extra: 1 });
    expect(fieldErrorsFromIssues(result.error?.issues ?? [])).toEqual({
      extra: 'is not a known field',
      'schedule.cron': expect.any(String),
    });
  });
});

describe('request hash', () => {
  it('ignores key order and formatting but not values', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}');
    expect(requestHash({ a: 1, b: 2 })).toBe(requestHash({ b: 2, a: 1 }));
    expect(requestHash({ a: 1, b: 2 })).not.toBe(requestHash({ a: 1, b: 3 }));
    expect(requestHash({ a: 1 })).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps a "__proto__" key as data', () => {
    const parsed = JSON.parse('{"__proto__": {"x": 1}, "a": 1}') as unknown;
    expect(canonicalJson(parsed)).toBe('{"__proto__":{"x":1},"a":1}');
  });
});
