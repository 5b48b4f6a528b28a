/**
 * Writes the OpenAPI document of a server with the built-in task types, built in-process (no server, no store), to
 * the file given or to stdout. `make lint` runs Redocly on it.
 *
 * Usage: npx tsx scripts/openapi.ts [out.json]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { builtInOpenApiDocument } from '../internal/app/index.js';

const text = `${JSON.stringify(await builtInOpenApiDocument(), null, 2)}\n`;
const out = process.argv[2];
if (out === undefined) process.stdout.write(text);
else {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, text);
}
