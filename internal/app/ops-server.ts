import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthSource } from '../api/ports.js';
import type { Metrics } from '../platform/metrics.js';

/**
 * The two endpoints a scheduler-only process serves (APP_METRICS_ADDR): `/metrics` for Prometheus and `/healthz`
 * for orchestrators. Plain node:http: this process has no API, and the API package is the only user of express.
 */
export async function startOpsServer(deps: {
  metrics: Metrics;
  health: HealthSource;
  host: string | undefined;
  port: number;
}): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'Content-Type': type });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'application/json', JSON.stringify({ error: { code: 'method_not_allowed', message: 'GET only' } }));
    if (path === '/metrics') {
      deps.metrics.registry.metrics().then(
        (text) => send(200, deps.metrics.registry.contentType, text),
        () => send(500, 'application/json', JSON.stringify({ error: { code: 'internal', message: 'metrics failed' } })),
      );
      return;
    }
    if (path === '/healthz') {
      deps.health.check().then(
        (report) => send(200, 'application/json', JSON.stringify(report)),
        () => send(500, 'application/json', JSON.stringify({ error: { code: 'internal', message: 'health check failed' } })),
      );
      return;
    }
    send(404, 'application/json', JSON.stringify({ error: { code: 'not_found', message: `no route ${path}` } }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.port, deps.host ?? '0.0.0.0', () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
