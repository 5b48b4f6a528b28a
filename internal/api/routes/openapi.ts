import { Router } from 'express';
import type { ApiDeps } from '../deps.js';
import { buildOpenApiDocument } from '../openapi.js';
import { VIGIL_VERSION } from '../version.js';

/** `GET /openapi.json`, built once from the schemas and the registered task types. */
export function openApiRouter(deps: Pick<ApiDeps, 'registry'>): Router {
  const router = Router();
  let document: unknown;
  router.get('/openapi.json', (_req, res) => {
    document ??= buildOpenApiDocument(deps.registry, { version: VIGIL_VERSION });
    res.json(document);
  });
  return router;
}
