import { readFileSync } from 'node:fs';
import { Document, LineCounter, isMap, isSeq, parseDocument } from 'yaml';
import type { Task, TaskCreate } from './client.js';
import { usageError } from './errors.js';

/**
 * A monitors file: the tasks a team keeps in git, applied with `vigil apply -f` and written by `vigil export`.
 *
 * ```yaml
 * monitors:
 *   - key: shop-feed            # required, unique: how apply finds the task on the server
 *     name: shop feed
 *     type: http
 *     schedule: { every: 60 }
 *     payload: { url: https://shop.example/feed.json }
 * ```
 *
 * Each monitor is the body of `POST /tasks` with a required `key`; fields left out take the API's defaults. The
 * JSON Schema in `docs/monitors.schema.json` describes it (generated from the API's own zod schemas). This module
 * checks only the file's shape (a list of objects with unique keys); the server checks each monitor's fields
 * (`POST /tasks/validate`), since only it knows the registered types and their payloads.
 */

/** One monitor of a file, where it is, and its body for the API. */
export interface FileMonitor {
  key: string;
  /** Position in the `monitors` list, for messages: `monitors[3]`. */
  index: number;
  body: TaskCreate & { key: string };
}

export interface MonitorsFile {
  path: string;
  monitors: FileMonitor[];
  /** `file:line` of a path inside the file (such as `['monitors', 3, 'schedule', 'every']`), for messages. */
  locate(path: (string | number)[]): string;
}

/** The top-level keys a monitors file may have. */
const TOP_LEVEL_KEYS = new Set(['monitors']);

/** Reads and checks a monitors file; every problem is reported at once, each with its line. */
export function readMonitorsFile(path: string): MonitorsFile {
  let text: string;
  try {
    text = path === '-' ? readFileSync(0, 'utf8') : readFileSync(path, 'utf8');
  } catch (err) {
    throw usageError(`-f: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseMonitorsFile(text, path);
}

export function parseMonitorsFile(text: string, path: string): MonitorsFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number | undefined) => (offset === undefined ? 1 : lineCounter.linePos(offset).line);
  const locate = (at: (string | number)[]): string => {
    // The deepest node that exists along the path: a missing field is reported where its parent is.
    for (let n = at.length; n >= 0; n -= 1) {
      const node = doc.getIn(at.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node?.range !== undefined) return `${path}:${lineOf(node.range[0])}`;
    }
    return path;
  };
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => `${path}:${lineOf(e.pos[0])}: ${e.message.split('\n')[0]}`);
    throw usageError(`${path} is not valid YAML:\n  ${problems.join('\n  ')}`);
  }
  const problems: string[] = [];
  const root = doc.contents;
  if (!isMap(root)) throw usageError(`${path}: must be a mapping with a "monitors" list`);
  for (const pair of root.items) {
    const name = String((pair.key as { value?: unknown } | null)?.value ?? pair.key);
    if (!TOP_LEVEL_KEYS.has(name)) problems.push(`${locate([name])}: ${name}: is not a known field (a file has "monitors")`);
  }
  const list = root.get('monitors', true);
  if (list === undefined || (list as unknown) === null) {
    // An empty file section is an empty list: `vigil apply --prune` with it deletes every keyed task, as asked.
    if (!root.has('monitors')) problems.push(`${path}: monitors: is required`);
  } else if (!isSeq(list)) {
    problems.push(`${locate(['monitors'])}: monitors: must be a list`);
  }
  const monitors: FileMonitor[] = [];
  const seen = new Map<string, number>();
  const items = isSeq(list) ? (list.toJSON(doc) as unknown[]) : [];
  items.forEach((item, index) => {
    const where = locate(['monitors', index]);
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      problems.push(`${where}: monitors[${index}]: must be a mapping of task fields`);
      return;
    }
    const body = item as Record<string, unknown>;
    const key = body.key;
    if (typeof key !== 'string' || key === '') {
      problems.push(`${where}: monitors[${index}].key: is required, a string that names the monitor for good`);
      return;
    }
    const first = seen.get(key);
    if (first !== undefined) {
      problems.push(`${locate(['monitors', index, 'key'])}: monitors[${index}].key: "${key}" is also the key of monitors[${first}]`);
      return;
    }
    seen.set(key, index);
    monitors.push({ key, index, body: body as TaskCreate & { key: string } });
  });
  if (problems.length > 0) throw usageError(`${path} is invalid:\n  ${problems.join('\n  ')}`);
  return { path, monitors, locate };
}

/** Task fields written by export, in this order; those at their default are left out to keep the file short. */
const DEFAULTS: Partial<Record<keyof TaskCreate, unknown>> = {
  priority: 3,
  timeout_ms: 30_000,
  max_attempts: 3,
  status: 'running',
};

/** The monitors file of a server's keyed tasks (sorted by key), such that applying it changes nothing. */
export function exportMonitorsFile(tasks: readonly Task[], header: string): string {
  const monitors = [...tasks]
    .filter((t): t is Task & { key: string } => t.key !== null)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((t) => {
      const monitor: Record<string, unknown> = { key: t.key, name: t.name, type: t.type, schedule: t.schedule };
      if (Object.keys(t.payload).length > 0) monitor.payload = t.payload;
      for (const field of ['priority', 'timeout_ms', 'max_attempts', 'status'] as const) {
        if (t[field] !== DEFAULTS[field]) monitor[field] = t[field];
      }
      if (t.notify !== null) monitor.notify = t.notify;
      return monitor;
    });
  const doc = new Document({ monitors });
  doc.commentBefore = header;
  return doc.toString({ lineWidth: 0 });
}
