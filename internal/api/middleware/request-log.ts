import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import type { Logger } from '../../platform/logger.js';

declare module 'http' {
  interface IncomingMessage {
    /** Set by the request-id middleware. */
    id?: string;
  }
  interface ServerResponse {
    /** The error behind a 5xx answer, set by the error middleware for the request log. */
    err?: Error;
  }
}

/** Probes that load balancers and Prometheus hit every few seconds: logged only when they fail. */
const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One log line per request, when its answer has gone out (or the client went away first), tagged with the request
 * id from the request-id middleware. Headers and bodies are never logged: headers carry bearer tokens and bodies
 * carry payloads (which may hold a monitored site's credentials). Failed requests (5xx) carry the error the error
 * middleware attached as `res.err`. One pino call per request, with no per-request child logger: on the hot path
 * of `POST /tasks` this costs a fraction of a general-purpose HTTP logger.
 */
export function requestLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const startedAt = performance.now();
    res.once('close', () => {
      const finished = res.writableFinished;
      const { statusCode, err } = res;
      const level = !finished ? 'warn' : levelOf(req, statusCode, err);
      if (level === 'silent') return;
      logger[level](
        {
          reqId: req.id,
          // The token's name, never the token: enough to tell who did what.
          ...(req.auth === undefined ? {} : { tokenName: req.auth.name }),
          req: { method: req.method, url: req.originalUrl, remoteAddress: req.socket.remoteAddress },
          res: { statusCode },
          responseTime: Math.round(performance.now() - startedAt),
          ...(err === undefined ? {} : { err }),
        },
        !finished ? 'request aborted' : err === undefined ? 'request completed' : 'request errored',
      );
    });
    next();
  };
}

function levelOf(
  req: IncomingMessage,
  statusCode: number,
  err: Error | undefined,
): 'debug' | 'info' | 'warn' | 'error' | 'silent' {
  // An outage answers every request with 503 until it ends: worth a warning each, not an error page.
  if (statusCode === 503) return 'warn';
  if (err !== undefined || statusCode >= 500) return 'error';
  const path = pathOf(req);
  if (PROBE_PATHS.has(path)) return statusCode >= 400 ? 'warn' : 'silent';
  // An open dashboard reads a few endpoints every two seconds, and a page load fetches its files: routine reads
  // that would drown the log at info. Its changes, and anything that fails, are logged as usual.
  const isRead = req.method === 'GET' || req.method === 'HEAD';
  if (isRead && statusCode < 400 && (req.headers['x-vigil-client'] === 'dashboard' || path === '/' || path.startsWith('/ui'))) {
    return 'debug';
  }
  return 'info';
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const end = url.indexOf('?');
  return end < 0 ? url : url.slice(0, end);
}
