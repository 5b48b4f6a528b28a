import type { HandlerRegistry } from '../handlers/index.js';
import type { ChannelSender } from '../notify/index.js';
import type { Clock } from '../platform/clock.js';
import type { Logger } from '../platform/logger.js';
import type { Metrics } from '../platform/metrics.js';
import type { Store } from '../store/index.js';
import type { ApiToken } from './middleware/bearer-auth.js';
import type { HealthSource, QueueSource, RateLimiter, TaskDispatcher } from './ports.js';
import type { DashboardOptions } from './routes/dashboard.js';

/** Everything the HTTP API needs, passed in once by the composition root. */
export interface ApiDeps {
  store: Store;
  /** The task types this process accepts; a create or change naming another type is refused. */
  registry: HandlerRegistry;
  /** Tells the scheduling side about new tasks. {@link pollingDispatcher} when there is none. */
  dispatcher: TaskDispatcher;
  /** Answers `/queue`. */
  queue: QueueSource;
  /** Answers `/healthz`. {@link storeHealthSource} when nothing better is wired. */
  health: HealthSource;
  /** The process logger; request lines are written to a child of it. */
  logger: Logger;
  metrics: Metrics;
  /** "Now" for new slots and timestamps. */
  clock: Clock;
  /** Sends `POST /channels/:id/test` messages through the same code as the outbox. */
  channelSender: ChannelSender;
  /** Accepted bearer tokens, each with a name and a scope. Empty means no authentication (the composition root warns). */
  apiTokens: readonly ApiToken[];
  /** Limits requests per token or address; undefined means no limit. */
  rateLimiter?: RateLimiter | undefined;
  /** The dashboard's built files and APP_UI_READ_ONLY. Omitted: `/ui/` says the dashboard was not built. */
  ui?: DashboardOptions;
}
