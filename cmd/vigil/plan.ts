import type { Task, TaskPatch, TaskSpec } from './client.js';
import type { FileMonitor } from './monitors-file.js';

/**
 * What `vigil apply` will do: compare each monitor of the file, as the server would store it (`POST
 * /tasks/validate` fills in defaults and normalises the payload), with the task of the same key. A pure function,
 * so that the plan printed is exactly the plan applied.
 */

/** The fields a monitor sets, compared one by one. `key` is what matched them, so it is equal by construction. */
export const SPEC_FIELDS = ['name', 'type', 'payload', 'schedule', 'priority', 'timeout_ms', 'max_attempts', 'status', 'notify'] as const;
export type SpecField = (typeof SPEC_FIELDS)[number];

export type PlanStep =
  | { action: 'create'; key: string; monitor: FileMonitor; spec: TaskSpec }
  | { action: 'update'; key: string; id: number; monitor: FileMonitor; spec: TaskSpec; fields: SpecField[]; patch: TaskPatch }
  | { action: 'delete'; key: string; id: number; name: string }
  | { action: 'unchanged'; key: string; id: number }
  /** On the server with a key, not in the file, and no --prune: left as it is. */
  | { action: 'kept'; key: string; id: number };

export interface Plan {
  steps: PlanStep[];
  summary: { create: number; update: number; delete: number; unchanged: number; kept: number };
}

export interface DesiredMonitor {
  monitor: FileMonitor;
  spec: TaskSpec;
}

export function planApply(desired: readonly DesiredMonitor[], current: readonly Task[], options: { prune: boolean }): Plan {
  const byKey = new Map(current.filter((t) => t.key !== null).map((t) => [t.key as string, t]));
  const steps: PlanStep[] = [];
  for (const { monitor, spec } of desired) {
    const task = byKey.get(monitor.key);
    byKey.delete(monitor.key);
    if (task === undefined) {
      steps.push({ action: 'create', key: monitor.key, monitor, spec });
      continue;
    }
    const change = diffSpec(spec, task);
    steps.push(
      change === undefined
        ? { action: 'unchanged', key: monitor.key, id: task.id }
        : { action: 'update', key: monitor.key, id: task.id, monitor, spec, ...change },
    );
  }
  for (const [key, task] of [...byKey].sort(([a], [b]) => (a < b ? -1 : 1))) {
    steps.push(options.prune ? { action: 'delete', key, id: task.id, name: task.name } : { action: 'kept', key, id: task.id });
  }
  const summary = { create: 0, update: 0, delete: 0, unchanged: 0, kept: 0 };
  for (const step of steps) summary[step.action] += 1;
  return { steps, summary };
}

/** The fields where a task differs from a spec, and the patch that makes it match; undefined when none differ. */
export function diffSpec(spec: TaskSpec, task: Task): { fields: SpecField[]; patch: TaskPatch } | undefined {
  const fields = SPEC_FIELDS.filter((field) => canonical(spec[field]) !== canonical(task[field]));
  if (fields.length === 0) return undefined;
  const patch: Record<string, unknown> = {};
  for (const field of fields) patch[field] = spec[field];
  return { fields, patch: patch as TaskPatch };
}

/** JSON with keys sorted at every depth: `{a,b}` and `{b,a}` are the same value. */
function canonical(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'undefined';
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return Object.fromEntries(Object.keys(record).sort().map((k) => [k, sortKeys(record[k])]));
  }
  return value;
}
