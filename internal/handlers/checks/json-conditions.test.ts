import { describe, expect, it } from 'vitest';
import { RegexTimeoutError } from './bounded-regex.js';
import { type JsonCondition, jsonConditionsSchema } from './checks-schema.js';
import { evaluateJsonConditions } from './json-conditions.js';

const body = Buffer.from(
  JSON.stringify({
    status: 'ok',
    version: '2.14.1',
    queue: { depth: 42, workers: null },
    tags: ['eu', 'primary', { zone: 'a' }],
    healthy: true,
    message: 'all systems operational',
  }),
);

function failing(conditions: unknown[], input = body): { index: number; path: string; message: string }[] {
  return evaluateJsonConditions(input, false, jsonConditionsSchema.parse(conditions) as JsonCondition[]);
}

/** One passing and one failing condition per operator; the failure names the failing one. */
const cases: { op: string; pass: unknown; fail: unknown; message: string }[] = [
  { op: 'eq', pass: { path: '/status', value: 'ok' }, fail: { path: '/status', value: 'down' }, message: '/status is "ok", expected eq "down"' },
  { op: 'ne', pass: { path: '/status', value: 'down' }, fail: { path: '/status', value: 'ok' }, message: '/status is "ok", expected ne "ok"' },
  { op: 'lt', pass: { path: '/queue/depth', value: 100 }, fail: { path: '/queue/depth', value: 42 }, message: '/queue/depth is 42, expected lt 42' },
  { op: 'lte', pass: { path: '/queue/depth', value: 42 }, fail: { path: '/queue/depth', value: 41 }, message: '/queue/depth is 42, expected lte 41' },
  { op: 'gt', pass: { path: '/queue/depth', value: 41 }, fail: { path: '/queue/depth', value: 42 }, message: '/queue/depth is 42, expected gt 42' },
  { op: 'gte', pass: { path: '/queue/depth', value: 42 }, fail: { path: '/queue/depth', value: 43 }, message: '/queue/depth is 42, expected gte 43' },
  {
    op: 'contains',
    pass: { path: '/tags', value: { zone: 'a' } },
    fail: { path: '/message', value: 'degraded' },
    message: '/message is "all systems operational", expected contains "degraded"',
  },
  { op: 'exists', pass: { path: '/queue/workers' }, fail: { path: '/queue/missing' }, message: 'nothing at /queue/missing, expected it to exist' },
  {
    op: 'matches',
    pass: { path: '/version', value: '^2\\.\\d+\\.\\d+$' },
    fail: { path: '/version', value: '^3\\.' },
    message: '/version is "2.14.1", expected matches /^3\\./',
  },
];

describe('evaluateJsonConditions', () => {
  for (const c of cases) {
    it(`${c.op}: passes, and fails naming the condition`, () => {
      const pass = { op: c.op, ...(c.pass as object) };
      const fail = { op: c.op, ...(c.fail as object) };
      expect(failing([pass])).toEqual([]);
      const failures = failing([pass, fail]);
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({ index: 1, path: (c.fail as { path: string }).path, op: c.op, message: c.message });
    });
  }

  it('names every failing condition, in order, with what was expected and found', () => {
    const failures = evaluateJsonConditions(
      body,
      false,
      jsonConditionsSchema.parse([
        { path: '/status', op: 'eq', value: 'ok' },
        { path: '/queue/depth', op: 'lt', value: 10 },
        { path: '/healthy', op: 'exists', value: false },
        { path: '/status', op: 'gt', value: 1 },
      ]),
    );
    expect(failures).toEqual([
      { index: 1, path: '/queue/depth', op: 'lt', expected: 10, actual: 42, message: '/queue/depth is 42, expected lt 10' },
      { index: 2, path: '/healthy', op: 'exists', actual: true, message: '/healthy is true, expected it not to exist' },
      { index: 3, path: '/status', op: 'gt', expected: 1, actual: 'ok', message: '/status is "ok", not a number, expected gt 1' },
    ]);
  });

  it('compares JSON values deeply and exists:false passes on absence', () => {
    expect(failing([{ path: '/queue', op: 'eq', value: { workers: null, depth: 42 } }])).toEqual([]);
    expect(failing([{ path: '/nope', op: 'exists', value: false }])).toEqual([]);
    expect(failing([{ path: '/healthy', op: 'matches', value: '^true$' }])).toEqual([]);
  });

  it('fails every condition of a body that is not JSON, or was cut', () => {
    const conditions = jsonConditionsSchema.parse([{ path: '/status', op: 'eq', value: 'ok' }, { path: '', op: 'exists' }]);
    const notJson = evaluateJsonConditions(Buffer.from('<html>'), false, conditions);
    expect(notJson.map((f) => f.message)).toEqual(['body is not JSON, so eq "ok" cannot hold', 'body is not JSON, so exists cannot hold']);
    expect(evaluateJsonConditions(body, true, conditions)).toHaveLength(2);
  });

  it('stops a catastrophic pattern and blames the task', () => {
    const slow = Buffer.from(JSON.stringify({ s: `${'a'.repeat(40)}!` }));
    expect(() => failing([{ path: '/s', op: 'matches', value: '^(a+)+$' }], slow)).toThrow(RegexTimeoutError);
  });
});

describe('jsonConditionsSchema', () => {
  it('refuses bad conditions at their own path', () => {
    const paths = (value: unknown) => jsonConditionsSchema.safeParse(value).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(paths([{ path: '/a', op: 'lt', value: '5' }])).toEqual(['0.value: must be a number']);
    expect(paths([{ path: 'a', op: 'eq', value: 1 }])).toEqual(["0.path: must be a JSON pointer: empty, or starting with '/' (like /items)"]);
    expect(paths([{ path: '/a', op: 'like', value: 1 }])).toEqual(['0.op: op must be one of eq, ne, lt, lte, gt, gte, contains, exists, matches']);
    expect(paths([{ path: '/a', op: 'matches', value: '(' }])).toEqual(['0.value: is not a valid regular expression: /(/: Unterminated group']);
    expect(paths([{ path: '/a', op: 'eq' }])).toEqual(['0.value: is required: any JSON value']);
    expect(paths([{ path: '/a', op: 'exists', extra: 1 }])).toEqual(['0.extra: is not a known field']);
    expect(paths([])).toEqual([': must list at least one condition']);
  });
});
