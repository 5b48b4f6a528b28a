/**
 * Generates `cmd/vigil/api-schema.d.ts`, the types of the `vigil` command's HTTP client (openapi-fetch), from the
 * OpenAPI document built in-process with the built-in task types. `npm run gen:api:cli` writes it; a unit test
 * (`cmd/vigil/api-schema.test.ts`) regenerates it in memory and fails when the committed file differs.
 *
 * Usage: npx tsx scripts/gen-api-cli.ts [--check]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import openapiTS, { COMMENT_HEADER, astToString } from 'openapi-typescript';
import { builtInOpenApiDocument } from '../internal/app/index.js';

/** Where the generated types live. */
export const CLI_SCHEMA_FILE = fileURLToPath(new URL('../cmd/vigil/api-schema.d.ts', import.meta.url));

/** The text of `cmd/vigil/api-schema.d.ts` for the current API. */
export async function generateCliApiSchema(): Promise<string> {
  const document = await builtInOpenApiDocument();
  const ast = await openapiTS(document as unknown as Parameters<typeof openapiTS>[0], { alphabetize: true, defaultNonNullable: false });
  return `${COMMENT_HEADER.replace('openapi-typescript.', 'openapi-typescript (npm run gen:api:cli).')}${astToString(ast)}`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = await generateCliApiSchema();
  if (process.argv.includes('--check')) {
    if (readFileSync(CLI_SCHEMA_FILE, 'utf8') !== text) {
      process.stderr.write('cmd/vigil/api-schema.d.ts is stale: run npm run gen:api:cli\n');
      process.exit(1);
    }
  } else {
    writeFileSync(CLI_SCHEMA_FILE, text);
  }
}
