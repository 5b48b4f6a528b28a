import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WEB_SCHEMA_FILE, renderWebApiSchema } from '../scripts/gen-api-web.js';

/** The dashboard's typed client is generated from the API's schemas; a stale copy would let the UI drift from them. */
describe('the dashboard API types', () => {
  it('match the OpenAPI document the API builds now (run `npm run gen:api:web` when this fails)', async () => {
    const committed = readFileSync(WEB_SCHEMA_FILE, 'utf8');
    const fresh = await renderWebApiSchema();
    expect(committed === fresh, 'web/src/api/schema.d.ts is stale: run `npm run gen:api:web` and commit it').toBe(true);
  });
});
