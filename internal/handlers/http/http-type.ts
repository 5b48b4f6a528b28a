import type { OutboundPolicy } from '../outbound/outbound-policy.js';
import { defineTaskType, type RunContext, type TaskType } from '../registry.js';
import { parseHttpMemory, runHttpCheck } from './http-check.js';
import { httpPayloadSchema } from './payload-schema.js';

export interface HttpTypeDeps {
  /** The process's outbound policy (built from `APP_HTTP_DENY_CIDRS`), shared with webhook delivery. */
  policy: OutboundPolicy;
}

/**
 * A run context that may carry the task's memory. The registry's `RunContext` has no memory yet; until the
 * executor passes it (and stores `HttpCheckResult.memory` back after a successful run), every run of an `http` task
 * behaves as its first: no `changed`, no new items, and a `down` event on every down result.
 */
export type RunContextWithMemory = RunContext & { memory?: unknown };

/**
 * The built-in `http` type. `run` resolves with the check's output only; the memory half of the result is for the
 * executor to persist, and is reachable through {@link runHttpCheck} directly until the registry carries it.
 */
export function createHttpType(deps: HttpTypeDeps): TaskType<typeof httpPayloadSchema> {
  return defineTaskType({
    name: 'http',
    description: 'Checks a URL: status, optional body match, content changes and new items in a JSON array.',
    payloadSchema: httpPayloadSchema,
    async run(payload, ctx) {
      const memory = parseHttpMemory((ctx as RunContextWithMemory).memory);
      const { output } = await runHttpCheck(payload, {
        signal: ctx.signal,
        timeoutMs: ctx.task.timeoutMs,
        policy: deps.policy,
        memory,
      });
      return output;
    },
  });
}
