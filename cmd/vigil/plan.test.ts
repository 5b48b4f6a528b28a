import { describe, expect, it } from 'vitest';
import type { Task, TaskSpec } from './client.js';
import { EXIT } from './errors.js';
import { exportMonitorsFile, parseMonitorsFile } from './monitors-file.js';
import { planApply } from './plan.js';

const spec = (key: string, over: Partial<TaskSpec> = {}): TaskSpec => ({
  name: key,
  key,
  type: 'http',
  payload: { url: `https://example.com/${key}`, method: 'GET', expect_status: { min: 200, max: 399 } },
  schedule: { every: 60 },
  priority: 3,
  timeout_ms: 30_000,
  max_attempts: 3,
  status: 'running',
  notify: null,
  ...over,
});

const task = (id: number, s: TaskSpec): Task => ({
  id,
  ...s,
  next_run_at: '2030-01-01T00:00:00.000Z',
  last_run_at: null,
  last_status: null,
  up: null,
  silenced_until: null,
  created_at: '2030-01-01T00:00:00.000Z',
  updated_at: '2030-01-01T00:00:00.000Z',
});

const monitor = (key: string, index: number) => ({ key, index, body: { key, name: key, type: 'http', schedule: { every: 60 } } });

describe('planApply', () => {
  it('creates what is new, updates only the fields that differ, and leaves or prunes keyed tasks not in the file', () => {
    // Same payload in another key order is no change; the server's task without a key is never touched.
    const current = [
      task(1, spec('same', { payload: { expect_status: { max: 399, min: 200 }, method: 'GET', url: 'https://example.com/same' } })),
      task(2, spec('changed', { schedule: { every: 30 }, priority: 5 })),
      task(3, spec('gone')),
      task(4, { ...spec('keyless'), key: null }),
    ];
    const desired = ['same', 'changed', 'new'].map((key, i) => ({ monitor: monitor(key, i), spec: spec(key) }));

    const kept = planApply(desired, current, { prune: false });
    expect(kept.summary).toEqual({ create: 1, update: 1, delete: 0, unchanged: 1, kept: 1 });
    const update = kept.steps.find((s) => s.action === 'update');
    expect(update).toMatchObject({ key: 'changed', id: 2, fields: ['schedule', 'priority'], patch: { schedule: { every: 60 }, priority: 3 } });

    const pruned = planApply(desired, current, { prune: true });
    expect(pruned.steps.filter((s) => s.action === 'delete')).toEqual([{ action: 'delete', key: 'gone', id: 3, name: 'gone' }]);
  });

  it('sets notify back to null when the file drops it', () => {
    const current = [task(1, spec('n', { notify: { webhook_url: 'https://hooks.example/x', on: ['down'] } }))];
    const plan = planApply([{ monitor: monitor('n', 0), spec: spec('n') }], current, { prune: false });
    expect(plan.steps[0]).toMatchObject({ action: 'update', fields: ['notify'], patch: { notify: null } });
  });
});

describe('monitors files', () => {
  it('reports every problem of a file at once, each with its line', () => {
    const text = ['monitors:', '  - key: a', '    name: a', '  - name: no key', '  - key: a', '    name: again', 'extra: 1', ''].join('\n');
    let error: unknown;
    try {
      parseMonitorsFile(text, 'm.yaml');
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ exitCode: EXIT.usage });
    const message = (error as Error).message;
    expect(message).toContain('m.yaml:7: extra: is not a known field');
    expect(message).toContain('m.yaml:4: monitors[1].key: is required');
    expect(message).toContain('m.yaml:5: monitors[2].key: "a" is also the key of monitors[0]');
  });

  it('refuses YAML that does not parse, and duplicate mapping keys', () => {
    expect(() => parseMonitorsFile('monitors: [', 'm.yaml')).toThrow(/m\.yaml is not valid YAML/);
    expect(() => parseMonitorsFile('monitors: []\nmonitors: []\n', 'm.yaml')).toThrow(/not valid YAML/);
  });

  it('locates a field of a monitor for the messages of the server’s checks', () => {
    const file = parseMonitorsFile('monitors:\n  - key: a\n    schedule:\n      every: 0\n', 'm.yaml');
    expect(file.locate(['monitors', 0, 'schedule', 'every'])).toBe('m.yaml:4');
    expect(file.locate(['monitors', 0, 'payload', 'url'])).toBe('m.yaml:2');
  });

  it('exports keyed tasks sorted by key, without defaults, in a file that parses back to the same monitors', () => {
    const text = exportMonitorsFile(
      [task(2, spec('b', { priority: 5 })), task(1, spec('a')), task(3, { ...spec('c'), key: null })],
      ' header',
    );
    expect(text.startsWith('# header\n')).toBe(true);
    const file = parseMonitorsFile(text, 'export.yaml');
    expect(file.monitors.map((m) => m.key)).toEqual(['a', 'b']);
    expect(file.monitors[0]?.body).not.toHaveProperty('priority');
    expect(file.monitors[1]?.body).toMatchObject({ priority: 5, schedule: { every: 60 }, payload: spec('b').payload });
  });
});
