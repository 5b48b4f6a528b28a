import { buildOpenApiDocument } from '../api/openapi.js';
import { VIGIL_VERSION } from '../api/version.js';
import { createHttpType } from '../handlers/http/index.js';
import { HandlerRegistry, noopType } from '../handlers/index.js';
import { OutboundPolicy } from '../handlers/outbound/index.js';

/** The API version `/openapi.json` and `/info` report (one constant, in internal/api). */
export const API_VERSION = VIGIL_VERSION;

/**
 * The OpenAPI document of a server with only the built-in task types (`http`, `noop`), built in-process with no
 * server, store or network: what `make lint` checks with Redocly and what the `vigil` command's client is generated
 * from (`npm run gen:api:cli`).
 */
export async function builtInOpenApiDocument(): Promise<Record<string, unknown>> {
  const outbound = new OutboundPolicy();
  try {
    const registry = new HandlerRegistry().register(noopType).register(createHttpType({ policy: outbound }));
    return buildOpenApiDocument(registry, { version: API_VERSION });
  } finally {
    await outbound.close();
  }
}
