import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../../platform/logger.js';

/** Probes that load balancers and Prometheus hit every few seconds: logged only when they fail. */
const PROBE_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One log line per request, tagged with the request id from {@link requestId}. Headers and bodies are never
 * logged: headers carry bearer tokens and bodies carry payloads (which may hold a monitored site's credentials).
 * Failed requests (5xx) carry the error the error middleware attached as `res.err`.
 */
export function requestLog(logger: Logger): RequestHandler {
  const middleware = pinoHttp({
    logger,
    // requestId() runs first and always sets an id; this is only a fallback if the order ever changes.
    genReqId: (req) => req.id ?? 'unknown',
    quietReqLogger: true,
    wrapSerializers: false,
    serializers: {
      req: (req: IncomingMessage & { originalUrl?: string }) => ({
        method: req.method,
        url: req.originalUrl ?? req.url,
        remoteAddress: req.socket?.remoteAddress,
      }),
      res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
    },
    customLogLevel: (req, res, err) => {
      // An outage answers every request with 503 until it ends: worth a warning each, not an error page.
      if (res.statusCode === 503) return 'warn';
      if (err !== undefined || res.statusCode >= 500) return 'error';
      if (PROBE_PATHS.has(pathOf(req))) return res.statusCode >= 400 ? 'warn' : 'silent';
      return 'info';
    },
  });
  return (req, res, next) => middleware(req, res, next);
}

function pathOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const end = url.indexOf('?');
  return end < 0 ? url : url.slice(0, end);
}
