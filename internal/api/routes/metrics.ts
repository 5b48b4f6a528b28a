import { Router } from 'express';
import type { ApiDeps } from '../deps.js';

/** `GET /metrics`: the Prometheus exposition of this process's own registry. */
export function metricsRouter(deps: Pick<ApiDeps, 'metrics'>): Router {
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    const { registry } = deps.metrics;
    res.setHeader('Content-Type', registry.contentType);
    res.send(await registry.metrics());
  });
  return router;
}
