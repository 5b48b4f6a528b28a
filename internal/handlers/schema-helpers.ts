import { z } from 'zod';

/**
 * Building blocks of the built-in payload schemas (`http`, `browser`). Payload schemas avoid transforms, so that
 * their parsed output is also a valid input (the store keeps the output) and `z.toJSONSchema` can describe them for
 * `/openapi.json`; refinements are left out of the JSON Schema and still run.
 */

/**
 * A strict object whose unknown keys are reported at their own path (`payload.items.extra`, "is not a known field")
 * rather than as zod's `unrecognized_keys` at the parent, so that `HandlerRegistry.checkPayload`, which keeps only
 * paths and messages, still names the field. The JSON Schema says `additionalProperties: false` all the same.
 *
 * The cast restores the strict object type: a value with an unknown key never parses, so the output has none.
 */
export function closedObject<S extends z.core.$ZodLooseShape>(shape: S): z.ZodObject<S, z.core.$strict> {
  return z
    .looseObject(shape)
    .superRefine((value, ctx) => {
      for (const key of Object.keys(value)) {
        if (!Object.hasOwn(shape, key)) ctx.addIssue({ code: 'custom', path: [key], message: 'is not a known field' });
      }
    })
    .meta({ additionalProperties: false }) as unknown as z.ZodObject<S, z.core.$strict>;
}

/**
 * A whole number of `unit` from `min` to `max`, with the messages every payload field uses: "must be a whole number
 * of milliseconds", "must be at least 1", "must be at most 86400000 (one day)" (`maxNote` is the part in brackets).
 */
export function wholeNumberSchema(unit: string, min: number, max: number, maxNote?: string) {
  return z
    .int({ error: `must be a whole number of ${unit}` })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}${maxNote === undefined ? '' : ` (${maxNote})`}` });
}

/** One form of a {@link keyedUnion}: chosen when the object has `key`. */
export interface KeyedBranch {
  key: string;
  schema: z.ZodType;
}

/**
 * A union of object forms told apart by which key they carry (`{"path": …}`, `{"selector": …}`, `{"feed": true}`),
 * checked strictly against the one form the value chose. zod's own union reports a value that fits no form as one
 * "invalid input" at the union itself; this reports the chosen form's problems at their own paths
 * (`payload.items.id.attr`), which is what a client needs to fix it.
 *
 * Branches must have no defaults or transforms: the value is validated, not rewritten, so what was sent is what is
 * kept. The JSON Schema is the forms' `anyOf`.
 *
 * @param message said when the value is not an object or carries none of the keys.
 */
export function keyedUnion<T>(branches: readonly KeyedBranch[], message: string): z.ZodType<T> {
  const anyOf = branches.map((branch) => {
    const { $schema: _ignored, ...schema } = z.toJSONSchema(branch.schema, { io: 'input', unrepresentable: 'any' });
    return schema;
  });
  return z
    .unknown()
    .superRefine((value, ctx) => {
      const branch =
        typeof value === 'object' && value !== null && !Array.isArray(value)
          ? branches.find((b) => Object.hasOwn(value, b.key))
          : undefined;
      if (branch === undefined) {
        ctx.addIssue({ code: 'custom', message });
        return;
      }
      const result = branch.schema.safeParse(value);
      if (result.success) return;
      for (const issue of result.error.issues) {
        if (issue.code === 'unrecognized_keys') {
          for (const key of issue.keys) ctx.addIssue({ code: 'custom', path: [...issue.path, key], message: 'is not a known field' });
        } else {
          ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
        }
      }
    })
    .meta({ anyOf }) as unknown as z.ZodType<T>;
}

/** Flags that make sense for a single `test`: `g` and `y` would make it stateful, `d` is for match indices. */
export const REGEX_FLAGS = /^(?!.*(.).*\1)[imsuv]*$/;

/** Why `pattern` (with `flags`) does not compile, or null when it does. */
export function regexError(pattern: string, flags = ''): string | null {
  try {
    new RegExp(pattern, flags);
    return null;
  } catch (err) {
    const why = err instanceof Error ? err.message.replace(/^Invalid regular expression: /, '') : String(err);
    return `is not a valid regular expression: ${why}`;
  }
}

/** A JavaScript regular expression and its optional flags, checked to compile: `{"regex": "^ok", "flags": "i"}`. */
export function regexObjectSchema(description: string) {
  return closedObject({
    regex: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }).max(1_000, { error: 'must be at most 1000 characters' }),
    flags: z
      .string({ error: 'must be a string' })
      .regex(REGEX_FLAGS, { error: 'must be a combination of the flags i, m, s, u, v, each at most once' })
      .optional(),
  })
    .superRefine((spec, ctx) => {
      if (spec.flags !== undefined && !REGEX_FLAGS.test(spec.flags)) return;
      const error = regexError(spec.regex, spec.flags);
      if (error !== null) ctx.addIssue({ code: 'custom', path: ['regex'], message: error });
    })
    .meta({ description });
}
