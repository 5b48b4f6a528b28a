import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { CONFIG_FILE_ENV, type Config, ENV_VARS, configSchema, crossFieldProblems } from './schema.js';

/** Raised when configuration is invalid; `problems` lists every error at once, one line each. */
export class ConfigError extends Error {
  readonly code = 'config_invalid' as const;
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** Environment to read. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** The defaults file. Default: `configs/config.json` of the working directory, else of the project. */
  defaultsFile?: string;
}

type Json = Record<string, unknown>;

/**
 * Loads configuration in the documented order, each layer overriding the last: `configs/config.json`, the file
 * named in `APP_CONFIG`, then environment variables. Throws {@link ConfigError} listing every problem.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const problems: string[] = [];
  const layers: Json[] = [];

  const defaultsFile = options.defaultsFile ?? findDefaultsFile();
  if (defaultsFile !== undefined) layers.push(readJsonFile(defaultsFile, problems));
  const extraFile = env[CONFIG_FILE_ENV];
  if (extraFile !== undefined && extraFile !== '') layers.push(readJsonFile(extraFile, problems));
  layers.push(envLayer(env));

  const merged = layers.reduce<Json>((acc, layer) => mergeDeep(acc, layer), {});
  const result = configSchema.safeParse(merged);
  if (!result.success) problems.push(...result.error.issues.map(describeIssue));
  problems.push(...crossFieldProblems(merged));
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data;
}

function envLayer(env: NodeJS.ProcessEnv): Json {
  const layer: Json = {};
  for (const [name, [section, key]] of Object.entries(ENV_VARS)) {
    const value = env[name];
    if (value === undefined) continue;
    const target = (layer[section] ??= {}) as Json;
    target[key] = value;
  }
  return layer;
}

function readJsonFile(file: string, problems: string[]): Json {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      problems.push(`${file}: must contain a JSON object`);
      return {};
    }
    return parsed as Json;
  } catch (err) {
    // JSON.parse quotes the start of the file in its message, which may hold a secret: never repeat it.
    const reason = err instanceof SyntaxError ? 'is not valid JSON' : err instanceof Error ? err.message : String(err);
    problems.push(`${file}: ${reason}`);
    return {};
  }
}

function mergeDeep(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] =
      isPlainObject(prev) && isPlainObject(value) ? mergeDeep(prev, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const ENV_BY_PATH = new Map(Object.entries(ENV_VARS).map(([name, path]) => [path.join('.'), name]));

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.');
  const envName = ENV_BY_PATH.get(path);
  const where = envName === undefined ? path || '(root)' : `${envName} (${path})`;
  return `${where}: ${issue.message}`;
}

function findDefaultsFile(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    resolve(process.cwd(), 'configs/config.json'),
    resolve(here, '../../configs/config.json'),
    resolve(here, '../../../configs/config.json'),
  ];
  return candidates.find((file) => existsSync(file));
}
