/**
 * A Vigil process for the latency benchmark: the real App, configured from the environment like cmd/api and
 * cmd/scheduler, plus a `bench_probe` type whose handler prints `START <taskId> <epochMs>` the moment it starts.
 * The benchmark runs on one machine, so the child's clock and the load generator's are the same clock.
 *
 * Usage: node --import tsx bench/vigil-process.ts api|scheduler
 */
import { z } from 'zod';
import { App } from '../internal/app/index.js';
import { loadConfig } from '../internal/config/index.js';
import { HandlerRegistry, defineTaskType } from '../internal/handlers/index.js';
import { onShutdownSignal } from '../internal/platform/lifecycle.js';
import { createLogger } from '../internal/platform/logger.js';

const role = process.argv[2] === 'api' ? 'api' : 'scheduler';
const config = loadConfig();
const logger = createLogger({ level: config.logLevel, base: { role } });
const registry = new HandlerRegistry().register(
  defineTaskType({
    name: 'bench_probe',
    description: 'Prints when its handler starts; for the latency benchmark.',
    payloadSchema: z.object({}).strict(),
    run: async (_payload, ctx) => {
      process.stdout.write(`START ${ctx.task.id} ${Date.now()}\n`);
      return { ok: true };
    },
  }),
);
const app = new App({ role, config, logger, registry });
onShutdownSignal(logger, () => app.stop());
await app.start();
process.stdout.write(`READY ${app.port ?? 0}\n`);
