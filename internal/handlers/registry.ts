import type { Logger } from 'pino';
import type { z } from 'zod';
import type { RunTarget } from './host-limit.js';

/** What a handler sees of the task it runs. */
export interface RunContext {
  /** Aborted when the task's timeout passes, when the lease is lost, or when the process must stop. */
  signal: AbortSignal;
  task: { id: number; name: string; type: string; timeoutMs: number; attempt: number; slot: Date };
  logger: Logger;
  /**
   * What this task's handler kept after its last successful run ({@link RunContext.remember}), or null. Loaded only
   * for types that set `usesMemory`.
   */
  memory: Record<string, unknown> | null;
  /** Keeps a JSON value for the next run; stored with the outcome, and only if this attempt succeeds. */
  remember(value: Record<string, unknown>): void;
}

/**
 * A task type: the schema its payload must satisfy (checked when a task is created or changed) and the function
 * that runs it. Whatever `run` resolves to is stored as the run's output; a throw fails the attempt.
 */
export interface TaskType<S extends z.ZodType = z.ZodType> {
  name: string;
  /** One line for the OpenAPI document and the README. */
  description?: string;
  payloadSchema: S;
  /** Whether `run` reads `ctx.memory`; the executor loads it only then. Default false. */
  usesMemory?: boolean;
  /**
   * Whatever `run` resolves to is the run's output. Two fields of it mean something to the scheduler: `up`
   * (a boolean) is what the check saw, which the task's confirmed state follows through its `notify.down_after` and
   * `up_after` thresholds (the scheduler then sends `down` and `up` itself), and `events` (strings) are sent to the
   * task's webhook and channels when its `notify.on` lists them.
   */
  run(payload: z.output<S>, ctx: RunContext): Promise<unknown>;
  /**
   * The host a run of this payload requests, for politeness: the scheduler holds a run back while the host has its
   * fill of requests in flight or started (across every process), and runs it once it has room. A type that
   * requests no one host omits it.
   */
  target?(payload: z.output<S>): RunTarget | undefined;
  /**
   * Releases what the type holds across runs (a browser, a connection pool). Called once by
   * {@link HandlerRegistry.close} when the process stops, after the last run; a type that holds nothing omits it.
   */
  close?(): Promise<void>;
}

/** Defines a type with its payload type inferred from the schema. */
export function defineTaskType<S extends z.ZodType>(type: TaskType<S>): TaskType<S> {
  return type;
}

export type PayloadCheck =
  | { ok: true; payload: Record<string, unknown> }
  | { ok: false; issues: { path: string; message: string }[] };

const TYPE_NAME = /^[a-z][a-z0-9_.-]{0,99}$/;

/** The task types a process knows. Built in internal/app; code that embeds Vigil adds its own. */
export class HandlerRegistry {
  private readonly types = new Map<string, TaskType>();
  private readonly unavailableTypes = new Map<string, string>();

  register<S extends z.ZodType>(type: TaskType<S>): this {
    if (!TYPE_NAME.test(type.name)) throw new Error(`invalid task type name ${JSON.stringify(type.name)}`);
    if (this.types.has(type.name)) throw new Error(`task type ${type.name} is already registered`);
    this.types.set(type.name, type as unknown as TaskType);
    this.unavailableTypes.delete(type.name);
    return this;
  }

  /**
   * Records that a built-in type cannot run in this process, and why (`browser` without a Chromium). A task of that
   * type is refused with this reason instead of "not a registered type". Registering the type later clears it.
   */
  markUnavailable(name: string, reason: string): this {
    if (!this.types.has(name)) this.unavailableTypes.set(name, reason);
    return this;
  }

  /** Why `name` is not available here, when it was marked so; undefined otherwise. */
  unavailableReason(name: string): string | undefined {
    return this.types.has(name) ? undefined : this.unavailableTypes.get(name);
  }

  /**
   * Calls every type's `close` hook, all at once; one that fails does not keep the others from closing. Call it
   * once no run is left (the composition root calls it after the scheduler has stopped).
   */
  async close(): Promise<void> {
    const closing = [...this.types.values()].flatMap((type) => (type.close === undefined ? [] : [type.close()]));
    const results = await Promise.allSettled(closing);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  get(name: string): TaskType | undefined {
    return this.types.get(name);
  }

  has(name: string): boolean {
    return this.types.has(name);
  }

  names(): string[] {
    return [...this.types.keys()].sort();
  }

  /** Checks a payload against its type's schema; issue paths are relative to the payload. */
  checkPayload(typeName: string, payload: unknown): PayloadCheck {
    const type = this.types.get(typeName);
    if (type === undefined) return { ok: false, issues: [{ path: '', message: `unknown type ${typeName}` }] };
    const result = type.payloadSchema.safeParse(payload);
    if (result.success) return { ok: true, payload: result.data as Record<string, unknown> };
    return {
      ok: false,
      // A strict object reports unknown keys as one issue at the object itself; name each key instead, so that
      // a 400 says `payload.extra` rather than just `payload`.
      issues: result.error.issues.flatMap((issue) =>
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => ({ path: [...issue.path, key].map(String).join('.'), message: 'is not a known field' }))
          : [{ path: issue.path.map(String).join('.'), message: issue.message }],
      ),
    };
  }
}
