import { type Config, ConfigError, loadConfig } from '../../internal/config/index.js';

/** Loads configuration or exits 2 with every problem listed on stderr. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
