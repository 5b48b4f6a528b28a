import { App } from '../../internal/app/index.js';
import { onShutdownSignal } from '../../internal/platform/lifecycle.js';
import { createLogger } from '../../internal/platform/logger.js';
import { loadConfigOrExit } from '../shared/load-config.js';

/** A scheduler with no HTTP API, to scale workers out. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ level: config.logLevel, base: { role: 'scheduler' } });
  const app = new App({ role: 'scheduler', config, logger });
  onShutdownSignal(logger, () => app.stop());
  try {
    await app.start();
  } catch (err) {
    logger.fatal({ err }, 'startup failed');
    await app.stop().catch(() => undefined);
    process.exit(1);
  }
}

await main();
