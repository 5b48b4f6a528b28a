import { App } from '../../internal/app/index.js';
import { loadConfig } from '../../internal/config/index.js';
import type { HandlerRegistry } from '../../internal/handlers/index.js';
import { type Logger, createLogger } from '../../internal/platform/logger.js';
import { REDIS_ADDR } from './services.js';
import { testRegistry } from './test-types.js';

export interface TestAppOptions {
  /** Store env from createTestStore (MYSQL_DSN or SQLITE_PATH). */
  storeEnv: Record<string, string>;
  /** Stream name for this test file; every Redis key derives from it. Omit for no Redis. */
  stream?: string;
  /** Redis address; defaults to the test Redis. */
  redisAddr?: string;
  role?: 'api' | 'scheduler';
  env?: Record<string, string>;
  registry?: HandlerRegistry;
  /** The app's logger; default silent unless VIGIL_TEST_LOG is set. Tests that read log lines pass their own. */
  logger?: Logger;
}

/**
 * An in-process Vigil (API plus embedded scheduler by default) on a free port, with fast test timings. Logs are
 * silent unless VIGIL_TEST_LOG is set.
 */
export async function startTestApp(options: TestAppOptions): Promise<{ app: App; url: string }> {
  const env: Record<string, string> = {
    APP_HTTP_ADDR: '127.0.0.1:0',
    APP_SCHEDULE_INTERVAL: '100ms',
    APP_PENDING_IDLE: '1s',
    // Leases of 5 s: short enough for recovery tests to set their own, long enough that a loaded CI machine's late
    // heartbeat does not expire a live lease and turn a test's single attempt into two.
    APP_RECOVERY_TIMEOUT: '10s',
    APP_SHUTDOWN_TIMEOUT: '5s',
    APP_RETRY_BASE_DELAY: '50ms',
    APP_RETRY_MAX_DELAY: '200ms',
    // Tests send bursts of requests from one address; the rate limit has tests of its own that turn it on.
    APP_RATE_LIMIT: 'off',
    ...options.storeEnv,
    ...(options.stream === undefined ? {} : { REDIS_ADDR: options.redisAddr ?? REDIS_ADDR, APP_TASK_QUEUE_STREAM: options.stream }),
    ...options.env,
  };
  const config = loadConfig({ env });
  const logger = options.logger ?? createLogger({ level: process.env.VIGIL_TEST_LOG ?? 'silent' });
  const app = new App({ role: options.role ?? 'api', config, logger, registry: options.registry ?? testRegistry() });
  await app.start();
  return { app, url: `http://127.0.0.1:${app.port ?? 0}` };
}
