import { existsSync, readFileSync, statSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CONFIG_FILE_ENV, ENV_VARS, loadConfig } from '../internal/config/index.js';
import { Metrics } from '../internal/platform/metrics.js';

/**
 * The deployment files agree with the code: docker-compose.yml, the Dockerfile, .env.example and the Grafana
 * dashboard use only the environment variables the config schema reads and only the metrics the service exports,
 * and the commands they run are what `npm run build` produces. Nothing here needs Docker.
 */

const ROOT = resolve(import.meta.dirname, '..');
const COMPOSE_FILE = resolve(ROOT, 'docker-compose.yml');
const DOCKERFILE = resolve(ROOT, 'Dockerfile');
const ENV_EXAMPLE = resolve(ROOT, '.env.example');
const DASHBOARD_FILE = resolve(ROOT, 'docs/grafana-dashboard.json');
const DEFAULTS_FILE = resolve(ROOT, 'configs/config.json');

/** What the official mysql image reads to initialise itself; meaningful on the mysql service only. */
const MYSQL_IMAGE_VARS = new Set(['MYSQL_DATABASE', 'MYSQL_USER', 'MYSQL_PASSWORD', 'MYSQL_ROOT_PASSWORD']);
const SCHEMA_PREFIXES = /^(APP_|MYSQL_|REDIS_)/;

// --- compose helpers -----------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

interface ComposeService {
  image?: string;
  command?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
  depends_on?: string[] | Record<string, { condition?: string }>;
  deploy?: { replicas?: number };
  ports?: string[];
  volumes?: string[];
  restart?: string;
  stop_grace_period?: string;
}

/**
 * Compose interpolation as docker compose does it, for the forms this repository uses: `$$`, `$NAME`, `${NAME}`,
 * `${NAME:-default}`, `${NAME-default}`, `${NAME:?error}`, `${NAME?error}` and `${NAME:+alt}`. `vars` plays the
 * shell environment; by default it is empty, so every default applies.
 */
function interpolate(value: string, vars: Record<string, string> = {}): string {
  const out = value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, braced: string | undefined, op: string | undefined, arg: string | undefined, bare: string | undefined) => {
      if (match === '$$') return '$';
      const name = (braced ?? bare) as string;
      const current = vars[name];
      const emptyCounts = op?.startsWith(':') ?? false;
      const isSet = current !== undefined && (!emptyCounts || current !== '');
      switch (op?.replace(':', '')) {
        case undefined:
          return current ?? '';
        case '-':
          return isSet ? (current as string) : (arg ?? '');
        case '?':
          if (!isSet) throw new Error(`compose requires ${name}: ${arg ?? ''}`);
          return current as string;
        case '+':
          return isSet ? (arg ?? '') : '';
        default:
          throw new Error(`unsupported interpolation ${match}`);
      }
    },
  );
  // Nested forms (`${A:-${B}}`) would leave a `${` behind; this helper does not support them, so fail loudly.
  if (/\$\{/.test(out.replace(/\$\$/g, ''))) throw new Error(`unsupported nested interpolation in ${value}`);
  return out;
}

function interpolateDeep(value: unknown, vars: Record<string, string>): unknown {
  if (typeof value === 'string') return interpolate(value, vars);
  if (Array.isArray(value)) return value.map((v) => interpolateDeep(v, vars));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDeep(v, vars)]));
  }
  return value;
}

/** A service's environment as a map, whichever of the two compose forms it uses. */
function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment;
  if (env === undefined) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((item) => {
        const eq = item.indexOf('=');
        return eq < 0 ? [item, ''] : [item.slice(0, eq), item.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function commandOf(service: ComposeService): string[] {
  const cmd = service.command;
  if (cmd === undefined) return [];
  return Array.isArray(cmd) ? cmd.map(String) : cmd.split(/\s+/).filter(Boolean);
}

function dependsOn(service: ComposeService): Record<string, string | undefined> {
  const deps = service.depends_on;
  if (deps === undefined) return {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, undefined]));
  return Object.fromEntries(Object.entries(deps).map(([k, v]) => [k, v.condition]));
}

/** Names a text refers to as compose variables: `${NAME…}` and `$NAME` (not `$$NAME`, which is escaped). */
function referencedVariables(text: string): Set<string> {
  const names = new Set<string>();
  for (const m of text.replace(/\$\$/g, '').matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)|\$([A-Za-z_][A-Za-z0-9_]*)/g)) {
    names.add((m[1] ?? m[2]) as string);
  }
  return names;
}

// --- build helpers --------------------------------------------------------------------------------------------

/** The files `npm run build` emits for a source file, resolved through tsconfig.build.json as tsc would. */
function buildOutputsOf(sourceFile: string): string[] {
  const script = (JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
    .scripts.build;
  const match = /\btsc\s+-p\s+(\S+)/.exec(script ?? '');
  if (match === null) throw new Error(`npm run build is not "tsc -p <config>": ${script}`);
  const configPath = resolve(ROOT, match[1] as string);
  const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (parsed === undefined) throw new Error(`cannot read ${configPath}`);
  const file = resolve(ROOT, sourceFile);
  if (!parsed.fileNames.map((f) => resolve(f)).includes(file)) return [];
  return ts.getOutputFileNames(parsed, file, false).map((f) => relative(ROOT, resolve(f)));
}

/** The TypeScript source `npm run build` compiles into `dist/<path>.js`. */
function sourceOf(distFile: string): string {
  return distFile.replace(/^dist\//, '').replace(/\.js$/, '.ts');
}

// --- Dockerfile helpers ----------------------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions, with comments dropped and line continuations joined. */
function dockerInstructions(text: string): Instruction[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    // Comment lines are dropped, also inside a continued instruction, as docker does.
    if (/^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim() !== '') logical.push(current.trim());
    current = '';
  }
  return logical.map((line) => {
    const space = line.search(/\s/);
    return { keyword: line.slice(0, space).toUpperCase(), args: line.slice(space + 1).trim() };
  });
}

// --- metrics helpers -------------------------------------------------------------------------------------------

const PROMQL_KEYWORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'inf', 'nan',
]);

/** Metric names a PromQL expression selects: identifiers that are not functions, keywords, labels or variables. */
function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ');
  const names: string[] = [];
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = stripped.slice((m.index ?? 0) + m[0].length);
    if (/^\s*\(/.test(after)) continue;
    if (PROMQL_KEYWORDS.has(m[0].toLowerCase())) continue;
    names.push(m[0]);
  }
  return names;
}

/** Every `expr` in a dashboard, however deeply nested (rows, targets). */
function promqlExpressions(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(promqlExpressions);
  if (node === null || typeof node !== 'object') return [];
  const own = typeof (node as Json).expr === 'string' ? [(node as Json).expr as string] : [];
  return [...own, ...Object.values(node).flatMap(promqlExpressions)];
}

// --- the tests ------------------------------------------------------------------------------------------------

describe('docker-compose.yml', () => {
  const text = readFileSync(COMPOSE_FILE, 'utf8');
  const raw = parseYaml(text, { merge: true }) as { services: Record<string, ComposeService>; volumes?: Json };
  const compose = interpolateDeep(raw, {}) as typeof raw;
  const services = compose.services;
  const service = (name: string): ComposeService => {
    const s = services[name];
    if (s === undefined) throw new Error(`service ${name} is missing`);
    return s;
  };

  it('has the mysql, redis, migrate, api and scheduler services', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['mysql', 'redis', 'migrate', 'api', 'scheduler']));
  });

  it('runs MySQL 8 and Redis 7 with AOF on, each keeping its data in a named volume', () => {
    expect(service('mysql').image).toMatch(/^mysql:8/);
    expect(service('redis').image).toMatch(/^redis:7/);
    const redisCommand = commandOf(service('redis')).join(' ');
    expect(redisCommand).toMatch(/^redis-server\b/);
    expect(redisCommand).toMatch(/--appendonly yes\b/);
    expect(redisCommand).toMatch(/--requirepass \S+/);
    const volumes = Object.keys(compose.volumes ?? {});
    for (const [name, path] of [['mysql', '/var/lib/mysql'], ['redis', '/data']] as const) {
      const mounts = service(name).volumes ?? [];
      const mount = mounts.find((m) => m.endsWith(`:${path}`));
      expect(mount, `${name} mounts a volume on ${path}`).toBeDefined();
      expect(volumes).toContain(mount?.split(':')[0]);
    }
  });

  it('runs two scheduler replicas', () => {
    expect(service('scheduler').deploy?.replicas).toBe(2);
  });

  it('runs the three entry points that npm run build produces', () => {
    const expected = {
      migrate: ['node', 'dist/cmd/migrate/main.js', 'up'],
      api: ['node', 'dist/cmd/api/main.js'],
      scheduler: ['node', 'dist/cmd/scheduler/main.js'],
    };
    for (const [name, command] of Object.entries(expected)) {
      expect(commandOf(service(name)), name).toEqual(command);
      const distFile = command[1] as string;
      expect(existsSync(resolve(ROOT, sourceOf(distFile))), `${sourceOf(distFile)} exists`).toBe(true);
      expect(buildOutputsOf(sourceOf(distFile)), `npm run build emits ${distFile}`).toContain(distFile);
    }
  });

  it('orders startup: migrate after MySQL is healthy, api and scheduler after migrate succeeded and Redis is healthy', () => {
    expect(dependsOn(service('migrate')).mysql).toBe('service_healthy');
    expect(service('migrate').restart).toBe('no');
    for (const name of ['api', 'scheduler']) {
      const deps = dependsOn(service(name));
      expect(deps.migrate, name).toBe('service_completed_successfully');
      expect(deps.redis, name).toBe('service_healthy');
    }
  });

  it('publishes the API on 8081 and healthchecks mysql, redis and the API', () => {
    expect(service('api').ports).toContain('8081:8081');
    for (const name of ['mysql', 'redis', 'api']) {
      const hc = service(name).healthcheck;
      expect(hc?.disable ?? false, name).toBe(false);
      expect(hc?.test, name).toBeDefined();
    }
    expect(JSON.stringify(service('mysql').healthcheck?.test)).toContain('mysqladmin ping');
    expect(JSON.stringify(service('redis').healthcheck?.test)).toMatch(/redis-cli .*-a .*ping/);
    expect(JSON.stringify(service('api').healthcheck?.test)).toContain('http://127.0.0.1:8081/healthz');
  });

  it('uses only APP_, MYSQL_ and REDIS_ variables that the config schema reads', () => {
    const unknown: string[] = [];
    for (const [name, svc] of Object.entries(services)) {
      for (const key of Object.keys(environmentOf(svc))) {
        if (!SCHEMA_PREFIXES.test(key)) continue;
        if (key in ENV_VARS) continue;
        if (name === 'mysql' && MYSQL_IMAGE_VARS.has(key)) continue;
        unknown.push(`${name}: ${key}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  it('gives the api and the schedulers MYSQL_DSN and REDIS_ADDR pointing at the compose services', () => {
    const mysqlEnv = environmentOf(service('mysql'));
    const requirepass = commandOf(service('redis'))[commandOf(service('redis')).indexOf('--requirepass') + 1];
    for (const name of ['migrate', 'api', 'scheduler']) {
      const env = environmentOf(service(name));
      expect(env.MYSQL_DSN, name).toBeDefined();
      const dsn = new URL(env.MYSQL_DSN as string);
      expect(dsn.protocol).toBe('mysql:');
      expect(dsn.hostname).toBe('mysql');
      expect(decodeURIComponent(dsn.username)).toBe(mysqlEnv.MYSQL_USER);
      expect(decodeURIComponent(dsn.password)).toBe(mysqlEnv.MYSQL_PASSWORD);
      expect(dsn.pathname).toBe(`/${mysqlEnv.MYSQL_DATABASE}`);
      if (name === 'migrate') continue;
      expect(env.REDIS_ADDR, name).toBe('redis:6379');
      expect(env.REDIS_PASSWORD, name).toBe(requirepass);
    }
  });

  it('takes every secret from a variable with a development default, never a literal', () => {
    const rawServices = raw.services;
    for (const [name, svc] of Object.entries(rawServices)) {
      for (const [key, value] of Object.entries(environmentOf(svc))) {
        if (!/PASSWORD|TOKEN|SECRET/.test(key)) continue;
        expect(value, `${name}.${key}`).toMatch(/^\$\{[A-Z0-9_]+(:?-[^}]*)?\}$/);
      }
      const dsn = environmentOf(svc).MYSQL_DSN;
      if (dsn !== undefined) expect(dsn, `${name}.MYSQL_DSN`).toMatch(/^mysql:\/\/\$\{[^}]+\}:\$\{[^}]+\}@/);
    }
    expect(commandOf(rawServices.redis as ComposeService).join(' ')).toMatch(/--requirepass \$\{VIGIL_[A-Z_]+:-[^}]+\}/);
  });

  it('documents every compose-only variable it reads in its header', () => {
    const header = text.slice(0, text.search(/^services:/m));
    for (const name of referencedVariables(text)) {
      if (name in ENV_VARS) continue;
      expect(name, 'compose-only variables are named VIGIL_*').toMatch(/^VIGIL_/);
      expect(header, `${name} is documented at the top of docker-compose.yml`).toMatch(new RegExp(`^#\\s+${name}\\b`, 'm'));
    }
  });

  it('gives each Vigil process a configuration that loads', () => {
    for (const name of ['migrate', 'api', 'scheduler']) {
      const env = environmentOf(service(name));
      const config = loadConfig({ env, defaultsFile: DEFAULTS_FILE });
      expect(config.mysql?.dsn, name).toMatch(/^mysql:\/\/[^@]+@mysql:3306\/vigil$/);
      expect(config.redis, name).toMatchObject({ host: 'redis', port: 6379 });
      expect(config.redis?.password, name).toBeTruthy();
      expect(config.enableRedisQueue, name).toBe(true);
      expect(config.http.port, name).toBe(8081);
      // The stop grace period must outlast the graceful shutdown, or docker kills runs in flight.
      const grace = service(name).stop_grace_period ?? '10s';
      expect(parseSeconds(grace) * 1000, `${name} stop_grace_period`).toBeGreaterThan(config.scheduler.shutdownTimeoutMs);
    }
  });

  it('passes APP_ENV and APP_API_TOKENS through, so production without tokens refuses to start', () => {
    const apiEnvWith = (vars: Record<string, string>) =>
      environmentOf((interpolateDeep(raw, vars) as typeof raw).services.api as ComposeService);
    const bare = apiEnvWith({ APP_ENV: 'production' });
    expect(bare.APP_ENV).toBe('production');
    expect(() => loadConfig({ env: bare, defaultsFile: DEFAULTS_FILE })).toThrow(/APP_API_TOKENS/);
    const withTokens = apiEnvWith({ APP_ENV: 'production', APP_API_TOKENS: 'a,b' });
    expect(loadConfig({ env: withTokens, defaultsFile: DEFAULTS_FILE }).apiTokens.map((t) => t.token)).toEqual(['a', 'b']);
  });
});

function parseSeconds(value: string): number {
  const m = /^(\d+)(ms|s|m)?$/.exec(value.trim());
  if (m === null) throw new Error(`unexpected duration ${value}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
}

describe('Dockerfile', () => {
  const instructions = dockerInstructions(readFileSync(DOCKERFILE, 'utf8'));
  const froms = instructions.filter((i) => i.keyword === 'FROM');
  const lastFrom = instructions.lastIndexOf(froms.at(-1) as Instruction);
  const runtime = instructions.slice(lastFrom);
  const runs = instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);

  it('is multi-stage on node:20-bookworm-slim', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from.args).toMatch(/^node:20-bookworm-slim\b/);
  });

  it('installs, builds and prunes dev dependencies in the build stage', () => {
    expect(runs.some((r) => /\bnpm ci\b/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm run build\b/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm prune --omit=dev\b/.test(r))).toBe(true);
    expect(runs.some((r) => /python3/.test(r) && /\bmake\b/.test(r) && /g\+\+/.test(r))).toBe(true);
  });

  it('runs dist/cmd/api/main.js, which npm run build produces, as a non-root user', () => {
    const cmd = runtime.filter((i) => i.keyword === 'CMD').at(-1);
    expect(cmd).toBeDefined();
    const argv = JSON.parse(cmd?.args ?? '[]') as string[];
    expect(argv).toEqual(['node', 'dist/cmd/api/main.js']);
    expect(buildOutputsOf(sourceOf(argv[1] as string))).toContain('dist/cmd/api/main.js');
    const user = runtime.filter((i) => i.keyword === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
  });

  it('ships what the processes read at runtime, and probes /healthz', () => {
    const copies = runtime.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    for (const what of ['dist', 'node_modules', 'package.json', 'configs', 'migrations']) {
      expect(copies.some((c) => c.split(/\s+/).some((part) => part.replace(/^\/src\//, '').replace(/\/$/, '') === what)), what).toBe(true);
    }
    expect(runtime.some((i) => i.keyword === 'ENV' && /\bNODE_ENV=production\b/.test(i.args))).toBe(true);
    expect(runtime.some((i) => i.keyword === 'EXPOSE' && /\b8081\b/.test(i.args))).toBe(true);
    const healthcheck = runtime.find((i) => i.keyword === 'HEALTHCHECK');
    expect(healthcheck?.args).toContain('http://127.0.0.1:8081/healthz');
  });

  it('keeps local state and secrets out of the build context', () => {
    const ignored = readFileSync(resolve(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['.env', 'node_modules', 'dist', 'data', '.git']) expect(ignored, entry).toContain(entry);
  });
});

describe('.env.example', () => {
  it('names only variables the service reads, APP_CONFIG, or compose-only variables', () => {
    const composeOnly = [...referencedVariables(readFileSync(COMPOSE_FILE, 'utf8'))].filter((n) => n.startsWith('VIGIL_'));
    const allowed = new Set<string>([...Object.keys(ENV_VARS), CONFIG_FILE_ENV, ...composeOnly]);
    const named = [...readFileSync(ENV_EXAMPLE, 'utf8').matchAll(/^\s*#?\s*(?:export\s+)?([A-Z][A-Z0-9_]*)=/gm)].map(
      (m) => m[1] as string,
    );
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter((n) => !allowed.has(n))).toEqual([]);
  });
});

describe('docs/grafana-dashboard.json', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Json;
  const expressions = promqlExpressions(dashboard.panels);
  let exported: Map<string, string>;

  beforeAll(async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    exported = new Map((await metrics.registry.getMetricsAsJSON()).map((m) => [m.name, String(m.type)]));
  });

  /** The registry name a series name belongs to: histograms expose `_bucket`, `_sum` and `_count`. */
  function baseName(series: string): string {
    const m = /^(.*)_(bucket|sum|count)$/.exec(series);
    return m !== null && exported.get(m[1] as string) === 'histogram' ? (m[1] as string) : series;
  }

  it('is a Grafana dashboard with a Prometheus data source variable', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    const vars = (dashboard.templating as { list: Json[] }).list;
    const ds = vars.find((v) => v.type === 'datasource');
    expect(ds?.query).toBe('prometheus');
    const panels = (dashboard.panels as Json[]).filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThanOrEqual(10);
    const ids = (dashboard.panels as Json[]).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      expect((panel.datasource as Json).uid, String(panel.title)).toBe(`\${${String(ds?.name)}}`);
      expect((panel.targets as Json[]).length, String(panel.title)).toBeGreaterThan(0);
    }
  });

  it('queries only metrics the service exports', () => {
    expect(expressions.length).toBeGreaterThan(0);
    const unknown = expressions.flatMap((expr) => metricNamesIn(expr).filter((n) => !exported.has(baseName(n))));
    expect(unknown).toEqual([]);
  });

  it('charts runs, duration, lateness, queue, dead letters, pool, mode, retries, fallbacks and autoclaims', () => {
    const used = new Set(expressions.flatMap((e) => metricNamesIn(e).map(baseName)));
    for (const name of [
      'vigil_runs_total',
      'vigil_run_duration_seconds',
      'vigil_schedule_lateness_seconds',
      'vigil_queue_length',
      'vigil_queue_pending',
      'vigil_queue_lag',
      'vigil_dead_letters',
      'vigil_worker_pool_active',
      'vigil_worker_pool_size',
      'vigil_mode',
      'vigil_retries_total',
      'vigil_publish_fallback_total',
      'vigil_autoclaim_total',
    ]) {
      expect(used, name).toContain(name);
    }
  });

  it('groups only by labels the metrics carry', () => {
    const labels = new Map<string, Set<string>>();
    const metrics = new Metrics({ defaultMetrics: false });
    for (const m of metrics.registry.getMetricsAsArray()) {
      labels.set(m.name, new Set([...((m as unknown as { labelNames: string[] }).labelNames ?? []), 'le', 'instance', 'job']));
    }
    for (const expr of expressions) {
      const names = metricNamesIn(expr).map(baseName);
      for (const m of expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)) {
        for (const label of (m[1] as string).split(',').map((l) => l.trim()).filter(Boolean)) {
          expect(names.some((n) => labels.get(n)?.has(label)), `${label} in ${expr}`).toBe(true);
        }
      }
    }
  });
});

describe('scripts/check-queue.sh', () => {
  it('is an executable bash script in strict mode', () => {
    const file = resolve(ROOT, 'scripts/check-queue.sh');
    expect(statSync(file).mode & 0o111).not.toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^#!\/usr\/bin\/env bash\n/);
    expect(text).toMatch(/^set -euo pipefail$/m);
  });
});
