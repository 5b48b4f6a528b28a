import type { Logger } from 'pino';
import { parseCheckMemory } from '../checks/check-memory.js';
import type { OutboundPolicy } from '../outbound/outbound-policy.js';
import { runTargetOf } from '../host-limit.js';
import { defineTaskType, type TaskType } from '../registry.js';
import { runBrowserCheck } from './browser-check.js';
import { BrowserPool } from './browser-pool.js';
import { browserPayloadSchema } from './payload-schema.js';

export interface BrowserTypeDeps {
  /** The process's outbound policy: every request of every page goes through it. */
  policy: OutboundPolicy;
  /** The Chromium to run (see `findChromium`). */
  executablePath: string;
  /** Pages rendered at once (`APP_BROWSER_CONCURRENCY`). */
  concurrency: number;
  logger: Logger;
}

/** The `browser` type, and the pool it renders in (for tests and diagnostics). */
export type BrowserTaskType = TaskType<typeof browserPayloadSchema> & { readonly pool: BrowserPool };

/**
 * The built-in `browser` type: a page that JavaScript builds, rendered by headless Chromium and checked like an
 * `http` target. One browser serves every run of the process; `close` (called by the registry at shutdown) ends it.
 */
export function createBrowserType(deps: BrowserTypeDeps): BrowserTaskType {
  const pool = new BrowserPool({ executablePath: deps.executablePath, concurrency: deps.concurrency, logger: deps.logger });
  const type = defineTaskType({
    name: 'browser',
    description: 'Renders a page in headless Chromium and checks it: status, rendered HTML, headers, latency, TLS, new items by CSS selector.',
    payloadSchema: browserPayloadSchema,
    usesMemory: true,
    target: (payload) => runTargetOf(payload.url, payload.host_limit),
    async run(payload, ctx) {
      const { output, memory } = await runBrowserCheck(payload, {
        signal: ctx.signal,
        timeoutMs: ctx.task.timeoutMs,
        policy: deps.policy,
        pool,
        memory: parseCheckMemory(ctx.memory),
      });
      ctx.remember({ ...memory });
      return output;
    },
    close: () => pool.close(),
  });
  return Object.assign(type, { pool });
}
