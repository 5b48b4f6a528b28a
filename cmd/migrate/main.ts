import { createLogger } from '../../internal/platform/logger.js';
import { StoreMigrator, openConfiguredStore } from '../../internal/app/index.js';
import { loadConfigOrExit } from '../shared/load-config.js';

const USAGE = 'usage: migrate up|down|status';

/** Applies, reverts or lists the migrations in migrations/ for the configured store. */
async function main(): Promise<number> {
  const command = process.argv[2] ?? 'up';
  if (!['up', 'down', 'status'].includes(command)) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const config = loadConfigOrExit();
  const logger = createLogger({ level: config.logLevel, base: { role: 'migrate' } });
  const store = openConfiguredStore(config, { poolSize: 1 });
  try {
    const migrator = new StoreMigrator(store);
    if (command === 'up') {
      const applied = await migrator.up();
      logger.info({ store: store.target, applied }, applied.length === 0 ? 'migrations up to date' : 'migrations applied');
    } else if (command === 'down') {
      const reverted = await migrator.down();
      logger.info({ store: store.target, reverted }, reverted.length === 0 ? 'nothing to revert' : 'migration reverted');
    } else {
      for (const m of await migrator.status()) {
        process.stdout.write(`${m.executedAt === undefined ? 'pending ' : 'applied '} ${m.name}${m.executedAt ? `  ${m.executedAt.toISOString()}` : ''}\n`);
      }
    }
    return 0;
  } catch (err) {
    logger.error({ err, store: store.target }, `migrate ${command} failed`);
    return 1;
  } finally {
    await store.close();
  }
}

process.exitCode = await main();
