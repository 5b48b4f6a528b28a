import { Router } from 'express';
import type { ApiDeps } from '../deps.js';
import { pingWithin } from '../ports.js';

/** How long `/readyz` waits for the store before answering 503: below the usual probe timeout of a few seconds. */
export const READY_PING_TIMEOUT_MS = 2000;

/**
 * Probes. `/healthz` is liveness plus dependency state: it answers 200 whenever the process can answer at all,
 * with `degraded` and reasons when a dependency is down, so that an orchestrator does not restart a process that
 * a database outage would not cure. `/readyz` answers 200 only when the store answers, so that a load balancer
 * stops sending requests the process cannot serve.
 */
export function healthRouter(deps: Pick<ApiDeps, 'health' | 'store'>): Router {
  const router = Router();

  router.get('/healthz', async (_req, res) => {
    const report = await deps.health.check();
    res.setHeader('Cache-Control', 'no-store');
    res.json(report);
  });

  router.get('/readyz', async (_req, res) => {
    // A failed or slow ping throws StoreError('unavailable'), which the error middleware answers with 503.
    await pingWithin(deps.store, READY_PING_TIMEOUT_MS);
    res.setHeader('Cache-Control', 'no-store');
    res.json({ ready: true });
  });

  return router;
}
