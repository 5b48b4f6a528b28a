/**
 * Embedding Vigil with a task type of your own: `disk_space` checks that a filesystem keeps enough free space.
 *
 * It shows the whole contract of a type (see internal/handlers/registry.ts):
 * - `payloadSchema` (zod) is checked at `POST /tasks` and `PATCH /tasks/:id`; a bad payload is a 400 naming the
 *   field (`payload.min_free_bytes`);
 * - `run` resolves to the run's output. The task's state (`GET /tasks/:id` → `up`) follows `up` once the task's
 *   `notify.down_after`/`up_after` thresholds are met (the scheduler sends `down` and `up` itself then), and other
 *   `events` listed in the task's `notify.on` are sent to its webhook and channels;
 * - `ctx.memory` is what `ctx.remember()` kept on the last successful run (only for `usesMemory` types), stored in
 *   the database, so it survives restarts: here a check counter and the last state, to report transitions only;
 * - a throw fails the attempt, which is retried and dead-lettered (a path that does not exist is a broken task,
 *   not a full disk).
 *
 * Run it (after `make migrate`) with `npx tsx examples/custom-type.ts`, then:
 *   curl -XPOST localhost:8081/tasks -H 'content-type: application/json' \
 *     -d '{"name":"root disk","type":"disk_space","schedule":{"every":60},"payload":{"path":"/","min_free_bytes":1000000000}}'
 */
import { statfs } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { App } from '../internal/app/index.js';
import { loadConfig } from '../internal/config/index.js';
import { HandlerRegistry, defineTaskType } from '../internal/handlers/index.js';
import { onShutdownSignal } from '../internal/platform/lifecycle.js';

/** What the type keeps between runs. Parsed defensively: a memory it cannot read counts as none. */
const diskSpaceMemory = z.object({ checks: z.int().min(0), up: z.boolean() }).partial();

export const diskSpaceType = defineTaskType({
  name: 'disk_space',
  description: 'Checks that the filesystem holding `path` has at least `min_free_bytes` available.',
  payloadSchema: z.strictObject({
    path: z.string({ error: 'must be a string' }).refine(isAbsolute, { error: 'must be an absolute path' }),
    min_free_bytes: z.int({ error: 'must be a whole number of bytes' }).min(0, { error: 'must not be negative' }),
  }),
  usesMemory: true,
  async run(payload, ctx) {
    const parsed = diskSpaceMemory.safeParse(ctx.memory ?? {});
    const previous = parsed.success ? parsed.data : {};
    const stats = await statfs(payload.path); // throws for a missing path: the attempt fails
    const freeBytes = stats.bavail * stats.bsize;
    const up = freeBytes >= payload.min_free_bytes;
    const checks = (previous.checks ?? 0) + 1;
    ctx.remember({ checks, up });
    // Transitions only, as the http type does: one `down` for a disk that stays full, not one per run.
    const events = !up && previous.up !== false ? ['down'] : up && previous.up === false ? ['up'] : [];
    return {
      up,
      ...(up ? {} : { reason: `${freeBytes} bytes free, below ${payload.min_free_bytes}` }),
      free_bytes: freeBytes,
      total_bytes: stats.blocks * stats.bsize,
      checks,
      events,
    };
  },
});

/** Adds the example's types to a registry (the built-in `http` and `noop` are added by the App when missing). */
export function registerExampleTypes(registry: HandlerRegistry): HandlerRegistry {
  return registry.register(diskSpaceType);
}

export function createExampleRegistry(): HandlerRegistry {
  return registerExampleTypes(new HandlerRegistry());
}

/** Starts the API with its embedded scheduler, configured like `cmd/api` (configs/config.json, APP_* variables). */
export async function startExample(): Promise<App> {
  const app = new App({ role: 'api', config: loadConfig(), registry: createExampleRegistry() });
  await app.start();
  return app;
}

// Only when run as a program; importing the module (as its test does) starts nothing.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const app = await startExample();
  onShutdownSignal(app.logger, () => app.stop());
}
