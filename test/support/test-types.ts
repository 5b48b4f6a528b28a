import { z } from 'zod';
import { HandlerRegistry, defineTaskType, noopType } from '../../internal/handlers/index.js';

/**
 * Task types that tests register to make handlers slow, hang, fail or count. Calls are counted per task id in
 * `calls`, and by `test-process.ts` in child processes, which print one `RUN <taskId> <slot>` line per call.
 */
export interface TestTypeHooks {
  onRun?: (info: { taskId: number; slot: Date; attempt: number; type: string }) => void;
  /** When a `span` handler stops: it finished, or its signal aborted it. */
  onEnd?: (info: { taskId: number; slot: Date; attempt: number; type: string }) => void;
}

export function testRegistry(hooks: TestTypeHooks = {}): HandlerRegistry {
  const note = (type: string, ctx: { task: { id: number; slot: Date; attempt: number } }) =>
    hooks.onRun?.({ taskId: ctx.task.id, slot: ctx.task.slot, attempt: ctx.task.attempt, type });
  return new HandlerRegistry()
    .register(noopType)
    .register(
      defineTaskType({
        name: 'count',
        payloadSchema: z.object({}).strict(),
        run: async (_payload, ctx) => {
          note('count', ctx);
          return { ok: true };
        },
      }),
    )
    .register(
      defineTaskType({
        name: 'sleep',
        payloadSchema: z.object({ ms: z.number().int().min(0) }).strict(),
        run: async (payload, ctx) => {
          note('sleep', ctx);
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, payload.ms);
            ctx.signal.addEventListener('abort', () => {
              clearTimeout(timer);
              resolve();
            });
          });
          return { slept: payload.ms };
        },
      }),
    )
    .register(
      defineTaskType({
        name: 'span',
        // A `sleep` that also says when it stops (finished or aborted), so that a test can tell whether two
        // attempts of one slot were ever running at the same time.
        payloadSchema: z.object({ ms: z.number().int().min(0) }).strict(),
        run: async (payload, ctx) => {
          note('span', ctx);
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, payload.ms);
            ctx.signal.addEventListener('abort', () => {
              clearTimeout(timer);
              resolve();
            });
          });
          hooks.onEnd?.({ taskId: ctx.task.id, slot: ctx.task.slot, attempt: ctx.task.attempt, type: 'span' });
          return { slept: payload.ms };
        },
      }),
    )
    .register(
      defineTaskType({
        name: 'hang',
        payloadSchema: z.object({}).strict(),
        // Ignores its signal on purpose: the executor must still end the attempt at the timeout.
        run: (_payload, ctx) => {
          note('hang', ctx);
          return new Promise(() => undefined);
        },
      }),
    )
    .register(
      defineTaskType({
        name: 'flaky',
        // Fails the first `fail_times` attempts of each slot, then succeeds.
        payloadSchema: z.object({ fail_times: z.number().int().min(0) }).strict(),
        run: async (payload, ctx) => {
          note('flaky', ctx);
          if (ctx.task.attempt <= payload.fail_times) throw new Error(`flaky failure ${ctx.task.attempt}`);
          return { attempt: ctx.task.attempt };
        },
      }),
    )
    .register(
      defineTaskType({
        name: 'big_output',
        // Returns an output of `bytes` characters of `char` (a quote by default: each one is escaped twice on its
        // way to MySQL, as in a quote-heavy JSON feed), plus small fields; `up` makes it a monitoring result.
        payloadSchema: z
          .object({ bytes: z.number().int().min(0), char: z.string().length(1).optional(), up: z.boolean().optional() })
          .strict(),
        run: async (payload, ctx) => {
          note('big_output', ctx);
          return { status_code: 200, ...(payload.up === undefined ? {} : { up: payload.up }), body: (payload.char ?? '"').repeat(payload.bytes) };
        },
      }),
    )
    .register(
      defineTaskType({
        name: 'fail',
        payloadSchema: z.object({}).strict(),
        run: async (_payload, ctx) => {
          note('fail', ctx);
          throw new Error('always fails');
        },
      }),
    );
}
