/**
 * A Vigil process for crash and shutdown tests: the real App, configured from the environment like cmd/api and
 * cmd/scheduler, plus the test task types. Each handler call prints `RUN <taskId> <slot> <attempt> <monotonic ms>` on
 * stdout (and a `span` handler `END …` when it stops), so a test can count calls across processes it kills.
 *
 * Usage: node --import tsx test/support/test-process.ts api|scheduler
 */
import { App } from '../../internal/app/index.js';
import { loadConfig } from '../../internal/config/index.js';
import { onShutdownSignal } from '../../internal/platform/lifecycle.js';
import { createLogger } from '../../internal/platform/logger.js';
import { testRegistry } from './test-types.js';

const role = process.argv[2] === 'api' ? 'api' : 'scheduler';
const config = loadConfig();
const logger = createLogger({ level: config.logLevel, base: { role } });
// Each line ends with the host's monotonic time in ms, which a shifted wall clock (faketime) does not move, so that
// a test can order the handler calls of several processes.
const mono = () => (Number(process.hrtime.bigint() / 1000n) / 1000).toFixed(3);
const registry = testRegistry({
  onRun: ({ taskId, slot, attempt }) => process.stdout.write(`RUN ${taskId} ${slot.toISOString()} ${attempt} ${mono()}\n`),
  onEnd: ({ taskId, slot, attempt }) => process.stdout.write(`END ${taskId} ${slot.toISOString()} ${attempt} ${mono()}\n`),
});
const app = new App({ role, config, logger, registry });
onShutdownSignal(logger, () => app.stop());
await app.start();
process.stdout.write(`READY ${app.port ?? ''}\n`);
