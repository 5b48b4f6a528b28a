/**
 * Writes `docs/monitors.schema.json`, the JSON Schema of a monitors file, generated from the API's zod schemas
 * (see internal/app/monitors-schema.ts). `cmd/vigil/monitors-schema.test.ts` fails when the committed file is stale.
 *
 * Usage: npm run gen:monitors-schema
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { monitorsFileJsonSchema } from '../internal/app/index.js';

export const MONITORS_SCHEMA_FILE = fileURLToPath(new URL('../docs/monitors.schema.json', import.meta.url));

export async function generateMonitorsSchema(): Promise<string> {
  return `${JSON.stringify(await monitorsFileJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(MONITORS_SCHEMA_FILE, await generateMonitorsSchema());
}
