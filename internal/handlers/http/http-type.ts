import type { OutboundPolicy } from '../outbound/outbound-policy.js';
import { runTargetOf } from '../host-limit.js';
import { defineTaskType, type TaskType } from '../registry.js';
import { parseHttpMemory, runHttpCheck } from './http-check.js';
import { httpPayloadSchema } from './payload-schema.js';

export interface HttpTypeDeps {
  /** The process's outbound policy (built from `APP_HTTP_DENY_CIDRS`), shared with webhook delivery. */
  policy: OutboundPolicy;
}

/**
 * The built-in `http` type. Its memory (last body hash, last up/down state, ids already seen) comes from the
 * task's previous successful run and is kept for the next one, so that "changed", "new items" and up/down
 * transitions survive restarts and moves between processes.
 */
export function createHttpType(deps: HttpTypeDeps): TaskType<typeof httpPayloadSchema> {
  return defineTaskType({
    name: 'http',
    description: 'Checks a URL: status, optional body match, content changes and new items in a JSON array.',
    payloadSchema: httpPayloadSchema,
    usesMemory: true,
    target: (payload) => runTargetOf(payload.url, payload.host_limit),
    async run(payload, ctx) {
      const memory = parseHttpMemory(ctx.memory);
      const { output, memory: next } = await runHttpCheck(payload, {
        signal: ctx.signal,
        timeoutMs: ctx.task.timeoutMs,
        policy: deps.policy,
        memory,
      });
      ctx.remember({ ...next });
      return output;
    },
  });
}
