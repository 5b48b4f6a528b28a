import type { z } from 'zod';
import type { FieldErrors } from './errors.js';
import { ValidationError } from './errors.js';

/** The field name used for problems with the request body as a whole (not an object, nothing to change). */
export const BODY_FIELD = 'body';

/**
 * Turns zod issues into `{ "schedule.every": "must be at least 1 second" }`. Paths are dotted; an issue at the
 * root is reported under `rootName`. Only the first problem of each field is kept, because a client fixes one
 * thing at a time and a second message about the same field is noise.
 */
export function fieldErrorsFromIssues(
  issues: readonly z.core.$ZodIssue[],
  options: { prefix?: readonly PropertyKey[]; rootName?: string } = {},
): FieldErrors {
  const fields: FieldErrors = {};
  collect(issues, options.prefix ?? [], options.rootName ?? BODY_FIELD, fields);
  return fields;
}

/** Parses `value` with `schema`, or throws a ValidationError naming every bad field. */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  options: { rootName?: string } = {},
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new ValidationError(fieldErrorsFromIssues(result.error.issues, options));
}

/** Joins a path into the dotted form clients see: `notify.on.0`. */
export function fieldPath(path: readonly PropertyKey[], rootName: string): string {
  return path.length === 0 ? rootName : path.map(String).join('.');
}

function collect(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[],
  rootName: string,
  fields: FieldErrors,
): void {
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) set(fields, fieldPath([...path, key], rootName), 'is not a known field');
      continue;
    }
    if (issue.code === 'invalid_union') {
      const branch = closestBranch(issue.errors);
      if (branch !== undefined) {
        collect(branch, path, rootName, fields);
        continue;
      }
    }
    set(fields, fieldPath(path, rootName), issue.message);
  }
}

/**
 * When a value fits none of a union's shapes, the shape it came closest to (fewest issues) usually says what the
 * client meant: `{"cron": 5}` is a cron schedule with a bad `cron`, not an `every` schedule missing `every`. On a
 * tie the union's own message, which lists the shapes, is clearer.
 */
function closestBranch(branches: readonly (readonly z.core.$ZodIssue[])[]): readonly z.core.$ZodIssue[] | undefined {
  let best: readonly z.core.$ZodIssue[] | undefined;
  let tie = false;
  for (const branch of branches) {
    if (best === undefined || branch.length < best.length) {
      best = branch;
      tie = false;
    } else if (branch.length === best.length) {
      tie = true;
    }
  }
  return tie || best === undefined || best.length === 0 ? undefined : best;
}

function set(fields: FieldErrors, name: string, message: string): void {
  if (!(name in fields)) fields[name] = message;
}
