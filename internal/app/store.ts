import type { Config } from '../config/index.js';
import { type Store, openStore } from '../store/index.js';

/**
 * The store the configuration names: MySQL/MariaDB when MYSQL_DSN is set, the embedded SQLite file otherwise. The
 * service and `cmd/migrate` open it the same way.
 */
export function openConfiguredStore(config: Config, options: { poolSize?: number } = {}): Store {
  return openStore({
    mysqlDsn: config.mysql?.dsn,
    poolSize: options.poolSize ?? config.mysql?.poolSize,
    connectTimeoutMs: config.mysql?.connectTimeoutMs,
    sqlitePath: config.sqlite.path,
  });
}
