import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { usageError } from './errors.js';

/** Parsers of command-line values shared by the commands; each bad value is a usage error (exit 2) naming its flag. */

export function parseInteger(text: string, flag: string): number {
  if (!/^-?\d+$/.test(text.trim())) throw usageError(`${flag}: must be a whole number (got ${JSON.stringify(text)})`);
  return Number(text);
}

/** `--limit`: a page size the API accepts. */
export function parseLimit(text: string): number {
  const limit = parseInteger(text, '--limit');
  if (limit < 1 || limit > 500) throw usageError('--limit: must be from 1 to 500');
  return limit;
}

export function parseJsonObject(text: string, flag: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw usageError(`${flag}: is not valid JSON`);
  }
  return asObject(value, `${flag}: must be a JSON object`);
}

/** One object from a JSON or YAML file (YAML is a superset of JSON, so one parser reads both). */
export function readObjectFile(path: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw usageError(`--file: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err) {
    throw usageError(`--file: ${path} is not valid JSON or YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  return asObject(value, `--file: ${path} must hold one ${what} (an object)`);
}

function asObject(value: unknown, message: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw usageError(message);
  return value as Record<string, unknown>;
}
