import { Router } from 'express';
import type { ApiDeps } from '../deps.js';
import { tokenCheck } from '../middleware/bearer-auth.js';
import type { InfoJson } from '../ops-schemas.js';
import { VIGIL_VERSION } from '../version.js';

/**
 * `GET /info`: what the dashboard needs before it can do anything else. It is open, so that the dashboard can learn
 * that a token is needed, and it says whether the token sent is accepted instead of answering 401, so that a wrong
 * token is a message on the page rather than an error in the browser's console. The token's scope tells the
 * dashboard whether to offer actions: a `read` token sees a read-only dashboard.
 */
export function infoRouter(deps: Pick<ApiDeps, 'apiTokens' | 'registry' | 'ui'>): Router {
  const router = Router();
  const check = tokenCheck(deps.apiTokens);
  router.get('/info', (req, res) => {
    const body: InfoJson = {
      version: VIGIL_VERSION,
      read_only: deps.ui?.readOnly ?? false,
      auth: { required: deps.apiTokens.length > 0, ...check(req.get('authorization')) },
      types: deps.registry.names(),
    };
    res.setHeader('Cache-Control', 'no-store');
    res.json(body);
  });
  return router;
}
