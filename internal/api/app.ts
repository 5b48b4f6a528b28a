import express, { type Express } from 'express';
import type { ApiDeps } from './deps.js';
import { bearerAuth, requireWriteScope } from './middleware/bearer-auth.js';
import { errorHandler } from './middleware/error-handler.js';
import { jsonBody } from './middleware/json-body.js';
import { notFound } from './middleware/not-found.js';
import { rateLimit } from './middleware/rate-limit.js';
import { requestId } from './middleware/request-id.js';
import { dashboardReadOnly } from './middleware/read-only.js';
import { requestLog } from './middleware/request-log.js';
import { channelsRouter } from './routes/channels.js';
import { dashboardRouter } from './routes/dashboard.js';
import { deadLettersRouter } from './routes/dead-letters.js';
import { healthRouter } from './routes/health.js';
import { infoRouter } from './routes/info.js';
import { metricsRouter } from './routes/metrics.js';
import { openApiRouter } from './routes/openapi.js';
import { opsRouter } from './routes/ops.js';
import { runStatsRouter } from './routes/run-stats.js';
import { tasksRouter } from './routes/tasks.js';

export type { ApiDeps } from './deps.js';

/** Largest request body, in bytes. Tasks are small; a big body is a mistake or an attack. */
export const BODY_LIMIT_BYTES = 64 * 1024;

/** Served without a token: probes must work for orchestrators, and the API description is public by nature. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json', '/info']);

/** Never rate limited: orchestrators' probes and Prometheus' scrapes must get through whatever else is happening. */
export const UNLIMITED_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/** POST routes that change nothing (they only check a request), so that a `read` token may call them. */
export const READ_ONLY_POSTS: ReadonlySet<string> = new Set(['/tasks/validate']);

/**
 * Builds the HTTP API. Nothing is opened or read here beyond what `deps` carries, so several apps can live in
 * one process (as tests do) and the caller decides when to listen.
 *
 * Order matters: the request id comes first so that every line (including a 401's) carries it; the dashboard's
 * static files come before authentication (the page asks for the token itself); authentication runs before the
 * body is read, so that an unauthenticated client cannot make the process parse 64 KiB; the scope check, the
 * dashboard's read-only refusal and the rate limit follow it, because they depend on which token was proven; the
 * error middleware comes last, and is the only place that chooses a status.
 */
export function createApiApp(deps: ApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestId());
  app.use(requestLog(deps.logger));
  app.use(dashboardRouter(deps.ui));
  app.use(bearerAuth({ tokens: deps.apiTokens, openPaths: OPEN_PATHS }));
  app.use(requireWriteScope({ readOnlyPosts: READ_ONLY_POSTS }));
  app.use(dashboardReadOnly({ readOnly: deps.ui?.readOnly ?? false, readOnlyPosts: READ_ONLY_POSTS }));
  if (deps.rateLimiter !== undefined) {
    app.use(rateLimit({ limiter: deps.rateLimiter, exemptPaths: UNLIMITED_PATHS, logger: deps.logger }));
  }
  app.use(jsonBody({ limitBytes: BODY_LIMIT_BYTES }));
  // The routers' paths do not overlap, so their order only decides how many a request walks through before its
  // own: `/tasks` (the busy one, `POST /tasks` above all) comes first.
  app.use(tasksRouter(deps));
  app.use(healthRouter(deps));
  app.use(infoRouter(deps));
  app.use(metricsRouter(deps));
  app.use(openApiRouter(deps));
  app.use(runStatsRouter(deps));
  app.use(opsRouter(deps));
  app.use(deadLettersRouter(deps));
  app.use(channelsRouter(deps));
  app.use(notFound());
  app.use(errorHandler());
  return app;
}
