import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CLI_SCHEMA_FILE, generateCliApiSchema } from '../../scripts/gen-api-cli.js';
import { MONITORS_SCHEMA_FILE, generateMonitorsSchema } from '../../scripts/gen-monitors-schema.js';

/** Files generated from the API's schemas are committed; these tests fail when one is stale. */
describe('generated files', () => {
  it('cmd/vigil/api-schema.d.ts matches the API (regenerate with npm run gen:api:cli)', async () => {
    const fresh = await generateCliApiSchema();
    expect(fresh).toContain('"/tasks/validate"');
    expect(readFileSync(CLI_SCHEMA_FILE, 'utf8') === fresh, 'cmd/vigil/api-schema.d.ts is stale: run npm run gen:api:cli').toBe(true);
  });

  it('docs/monitors.schema.json matches the API (regenerate with npm run gen:monitors-schema)', async () => {
    const fresh = await generateMonitorsSchema();
    expect(readFileSync(MONITORS_SCHEMA_FILE, 'utf8') === fresh, 'docs/monitors.schema.json is stale: run npm run gen:monitors-schema').toBe(
      true,
    );
  });
});

describe('docs/monitors.schema.json', () => {
  const schema = JSON.parse(readFileSync(MONITORS_SCHEMA_FILE, 'utf8')) as object;
  const validate = new Ajv2020({ strict: false, allErrors: true, validateFormats: false }).compile(schema);

  it('accepts the example monitors file', () => {
    const example = parseYaml(readFileSync(new URL('../../examples/monitors.yaml', import.meta.url), 'utf8'));
    expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
  });

  it.each([
    ['a monitor without a key', { monitors: [{ name: 'n', type: 'noop', schedule: { every: 60 } }] }, 'key'],
    ['an unknown field', { monitors: [{ key: 'k', name: 'n', type: 'noop', schedule: { every: 60 }, colour: 'red' }] }, 'colour'],
    ['a schedule of 0 seconds', { monitors: [{ key: 'k', name: 'n', type: 'noop', schedule: { every: 0 } }] }, 'every'],
    ['an http monitor without a url', { monitors: [{ key: 'k', name: 'n', type: 'http', schedule: { every: 60 }, payload: {} }] }, 'url'],
    ['an unknown top-level field', { monitors: [], version: 2 }, 'version'],
  ])('refuses %s', (_label, file, word) => {
    expect(validate(file)).toBe(false);
    expect(JSON.stringify(validate.errors)).toContain(word);
  });
});
