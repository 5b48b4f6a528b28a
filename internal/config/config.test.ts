import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type Config,
  ConfigError,
  ENV_VARS,
  type EnvVarName,
  loadConfig,
  redactConfig,
  redactDsn,
} from './index.js';
import { fileSchema } from './schema.js';

const DEFAULTS_FILE = resolve(dirname(fileURLToPath(import.meta.url)), '../../configs/config.json');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-config-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeJson(name: string, value: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

/** Loads with the project's defaults file and exactly the given environment (never process.env). */
function load(env: Record<string, string> = {}, defaultsFile: string = DEFAULTS_FILE): Config {
  return loadConfig({ env, defaultsFile });
}

/** The ConfigError thrown by loading, or a failure when loading succeeds or throws something else. */
function loadError(env: Record<string, string>, defaultsFile: string = DEFAULTS_FILE): ConfigError {
  try {
    load(env, defaultsFile);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('defaults', () => {
  it('loads the documented defaults from configs/config.json', () => {
    const cfg = load();
    expect(cfg.env).toBe('local');
    expect(cfg.logLevel).toBe('info');
    expect(cfg.http).toEqual({ host: undefined, port: 8081 });
    expect(cfg.mysql).toBeUndefined();
    expect(cfg.sqlite.path).toBe('data/vigil.db');
    expect(cfg.redis).toBeUndefined();
    expect(cfg.enableRedisQueue).toBe(true);
    expect(cfg.queue).toEqual({
      stream: 'vigil:task:queue',
      group: 'scheduler_group',
      batchSize: 100,
      pendingIdleMs: 30_000,
    });
    expect(cfg.scheduler).toEqual({
      enabled: true,
      intervalMs: 1000,
      poolSize: 50,
      capacity: 1000,
      allowedTypes: ['*'],
      recoveryTimeoutMs: 60_000,
      shutdownTimeoutMs: 30_000,
      retryBaseDelayMs: 1000,
      retryMaxDelayMs: 300_000,
      maxOutputBytes: 256 * 1024,
    });
    expect(cfg.apiTokens).toEqual([]);
    expect(cfg.runRetentionMs).toBe(7 * 24 * 3600 * 1000);
    expect(cfg.webhook.secret).toBeUndefined();
    expect(cfg.httpDenyCidrs).toEqual(['169.254.0.0/16', 'fe80::/10', 'fd00:ec2::254/128']);
  });

  it('agrees with what configs/config.json says', () => {
    const file = JSON.parse(readFileSync(DEFAULTS_FILE, 'utf8')) as {
      app: { worker_pool_size: number; task_queue_stream: string; queue_capacity: number };
      mysql: { pool_size: number };
    };
    const cfg = load({ MYSQL_DSN: 'mysql://u@h:3306/db' });
    expect(cfg.scheduler.poolSize).toBe(file.app.worker_pool_size);
    expect(cfg.scheduler.capacity).toBe(file.app.queue_capacity);
    expect(cfg.queue.stream).toBe(file.app.task_queue_stream);
    expect(cfg.mysql?.poolSize).toBe(file.mysql.pool_size);
  });

  it('finds configs/config.json by itself when no defaults file is given', () => {
    const custom = writeJson('find-defaults.json', { app: { worker_pool_size: 7 } });
    // The project file is found from the working directory or the module's location.
    expect(loadConfig({ env: {} }).scheduler.poolSize).toBe(50);
    // A defaults file that is given is the one that is read.
    expect(load({}, custom).scheduler.poolSize).toBe(7);
  });

  it('reports a defaults file that does not exist', () => {
    const missing = join(dir, 'no-such-defaults.json');
    const err = loadError({}, missing);
    expect(err.problems.some((p) => p.includes(missing))).toBe(true);
  });
});

describe('layering', () => {
  it('applies defaults < APP_CONFIG file < environment, merging sections field by field', () => {
    const defaults = writeJson('layer-defaults.json', {
      app: { worker_pool_size: 11, queue_batch_size: 12, queue_capacity: 13, task_queue_group: 'from_defaults' },
      sqlite: { path: 'defaults.db' },
    });
    const extra = writeJson('layer-extra.json', {
      app: { worker_pool_size: 22, queue_batch_size: 23 },
      sqlite: { path: 'extra.db' },
    });
    const cfg = load({ APP_CONFIG: extra, APP_QUEUE_BATCH_SIZE: '34', SQLITE_PATH: 'env.db' }, defaults);
    expect(cfg.queue.group).toBe('from_defaults'); // only in the defaults
    expect(cfg.scheduler.capacity).toBe(13); // only in the defaults, same section as overridden fields
    expect(cfg.scheduler.poolSize).toBe(22); // the file beats the defaults
    expect(cfg.queue.batchSize).toBe(34); // the environment beats both
    expect(cfg.sqlite.path).toBe('env.db');
  });

  it('without APP_CONFIG or an empty APP_CONFIG, only defaults and environment apply', () => {
    const defaults = writeJson('layer-defaults-2.json', { app: { worker_pool_size: 11 } });
    expect(load({}, defaults).scheduler.poolSize).toBe(11);
    expect(load({ APP_CONFIG: '' }, defaults).scheduler.poolSize).toBe(11);
    expect(load({ APP_WORKER_POOL_SIZE: '5' }, defaults).scheduler.poolSize).toBe(5);
  });

  it('reports an APP_CONFIG file that cannot be read', () => {
    const missing = join(dir, 'missing.json');
    const err = loadError({ APP_CONFIG: missing });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toContain(missing);
  });

  it('reports an APP_CONFIG file that is not valid JSON', () => {
    const file = writeJson('broken.json', '{"app": {');
    const err = loadError({ APP_CONFIG: file });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toContain(file);
  });

  it('reports an APP_CONFIG file without read permission', () => {
    if (process.getuid?.() === 0) {
      // root reads files whatever their mode; the unreadable case is covered by the missing file above.
      expect(() => load({ APP_CONFIG: join(dir, 'missing-too.json') })).toThrow(ConfigError);
      return;
    }
    const file = writeJson('unreadable.json', { app: {} });
    chmodSync(file, 0o000);
    const err = loadError({ APP_CONFIG: file });
    expect(err.problems.some((p) => p.includes(file))).toBe(true);
  });

  it.each([
    ['an array', '[1, 2]'],
    ['a string', '"hello"'],
    ['a number', '42'],
    ['null', 'null'],
  ])('reports an APP_CONFIG file holding %s instead of an object', (_label, text) => {
    const file = writeJson(`non-object-${_label.replace(/\W/g, '')}.json`, text);
    const err = loadError({ APP_CONFIG: file });
    expect(err.problems).toEqual([`${file}: must contain a JSON object`]);
  });

  it('refuses unknown keys in a config file, naming them', () => {
    const file = writeJson('unknown-key.json', { app: { worker_pool_sise: 3 } });
    const err = loadError({ APP_CONFIG: file });
    expect(err.problems.join('\n')).toContain('worker_pool_sise');
  });

  it('reports an unreadable file and bad environment values together', () => {
    const missing = join(dir, 'missing-2.json');
    const err = loadError({ APP_CONFIG: missing, APP_WORKER_POOL_SIZE: 'lots' });
    expect(err.problems).toHaveLength(2);
    expect(err.problems.some((p) => p.includes(missing))).toBe(true);
    expect(err.problems.some((p) => p.startsWith('APP_WORKER_POOL_SIZE'))).toBe(true);
  });
});

/**
 * One representative valid value per variable and where it must show up. Typed over every name in ENV_VARS, so a
 * variable added to the table without a case here fails type-checking.
 */
const ENV_CASES: Record<EnvVarName, { value: string; extra?: Record<string, string>; check: (cfg: Config) => void }> = {
  APP_ENV: {
    value: 'production',
    extra: { APP_API_TOKENS: 'tok' },
    check: (cfg) => expect(cfg.env).toBe('production'),
  },
  APP_LOG_LEVEL: { value: 'debug', check: (cfg) => expect(cfg.logLevel).toBe('debug') },
  APP_HTTP_ADDR: { value: '127.0.0.1:9090', check: (cfg) => expect(cfg.http).toEqual({ host: '127.0.0.1', port: 9090 }) },
  MYSQL_DSN: {
    value: 'mysql://vigil:pw@db.example:3307/vigil',
    check: (cfg) => expect(cfg.mysql?.dsn).toBe('mysql://vigil:pw@db.example:3307/vigil'),
  },
  MYSQL_POOL_SIZE: {
    value: '17',
    extra: { MYSQL_DSN: 'mysql://u@h:3306/db' },
    check: (cfg) => expect(cfg.mysql?.poolSize).toBe(17),
  },
  SQLITE_PATH: { value: '/var/lib/vigil/x.db', check: (cfg) => expect(cfg.sqlite.path).toBe('/var/lib/vigil/x.db') },
  REDIS_ADDR: {
    value: 'redis.example:6390',
    check: (cfg) => expect(cfg.redis).toEqual({ topology: 'standalone', host: 'redis.example', port: 6390, password: undefined, tls: false }),
  },
  REDIS_CLUSTER_NODES: {
    value: 'n1.example:7000, n2.example:7001,n3.example',
    check: (cfg) =>
      expect(cfg.redis).toEqual({
        topology: 'cluster',
        nodes: [
          { host: 'n1.example', port: 7000 },
          { host: 'n2.example', port: 7001 },
          { host: 'n3.example', port: 6379 },
        ],
        password: undefined,
        tls: false,
      }),
  },
  REDIS_SENTINELS: {
    value: 's1.example:26380,s2.example',
    check: (cfg) =>
      expect(cfg.redis).toEqual({
        topology: 'sentinel',
        sentinels: [
          { host: 's1.example', port: 26380 },
          { host: 's2.example', port: 26379 },
        ],
        masterName: 'mymaster',
        sentinelPassword: undefined,
        password: undefined,
        tls: false,
      }),
  },
  REDIS_SENTINEL_MASTER: {
    value: 'vigil-master',
    extra: { REDIS_SENTINELS: '127.0.0.1:26379' },
    check: (cfg) => expect(cfg.redis).toMatchObject({ topology: 'sentinel', masterName: 'vigil-master' }),
  },
  REDIS_SENTINEL_PASSWORD: {
    value: 's3ntinel',
    extra: { REDIS_SENTINELS: '127.0.0.1:26379', REDIS_SENTINEL_MASTER: 'm' },
    check: (cfg) => expect(cfg.redis).toMatchObject({ sentinelPassword: 's3ntinel' }),
  },
  REDIS_TLS: {
    value: 'true',
    extra: { REDIS_ADDR: '127.0.0.1:6379' },
    check: (cfg) => expect(cfg.redis?.tls).toBe(true),
  },
  REDIS_PASSWORD: {
    value: 'r3dis',
    extra: { REDIS_ADDR: '127.0.0.1:6379' },
    check: (cfg) => expect(cfg.redis?.password).toBe('r3dis'),
  },
  APP_ENABLE_REDIS_QUEUE: { value: 'false', check: (cfg) => expect(cfg.enableRedisQueue).toBe(false) },
  APP_TASK_QUEUE_STREAM: { value: 'test:stream', check: (cfg) => expect(cfg.queue.stream).toBe('test:stream') },
  APP_TASK_QUEUE_GROUP: { value: 'g2', check: (cfg) => expect(cfg.queue.group).toBe('g2') },
  APP_SCHEDULE_INTERVAL: { value: '250ms', check: (cfg) => expect(cfg.scheduler.intervalMs).toBe(250) },
  APP_WORKER_POOL_SIZE: { value: '8', check: (cfg) => expect(cfg.scheduler.poolSize).toBe(8) },
  APP_QUEUE_CAPACITY: { value: '64', check: (cfg) => expect(cfg.scheduler.capacity).toBe(64) },
  APP_QUEUE_BATCH_SIZE: { value: '25', check: (cfg) => expect(cfg.queue.batchSize).toBe(25) },
  APP_PENDING_IDLE: { value: '45s', check: (cfg) => expect(cfg.queue.pendingIdleMs).toBe(45_000) },
  APP_ALLOWED_TYPES: {
    value: 'http, noop ,custom.*',
    check: (cfg) => expect(cfg.scheduler.allowedTypes).toEqual(['http', 'noop', 'custom.*']),
  },
  APP_API_TOKENS: {
    value: 'a1,ci:b2:read',
    check: (cfg) =>
      expect(cfg.apiTokens).toEqual([
        { name: 'token-1', token: 'a1', scope: 'write' },
        { name: 'ci', token: 'b2', scope: 'read' },
      ]),
  },
  APP_RATE_LIMIT: { value: '600/m', check: (cfg) => expect(cfg.rateLimit).toEqual({ points: 20, windowSeconds: 2 }) },
  APP_RATE_LIMIT_BURST: { value: '100', check: (cfg) => expect(cfg.rateLimit).toEqual({ points: 100, windowSeconds: 5 }) },
  APP_RUN_RETENTION: { value: '2d', check: (cfg) => expect(cfg.runRetentionMs).toBe(2 * 24 * 3600 * 1000) },
  APP_RUN_SCHEDULER: { value: 'false', check: (cfg) => expect(cfg.scheduler.enabled).toBe(false) },
  APP_RECOVERY_TIMEOUT: { value: '90s', check: (cfg) => expect(cfg.scheduler.recoveryTimeoutMs).toBe(90_000) },
  APP_SHUTDOWN_TIMEOUT: { value: '10s', check: (cfg) => expect(cfg.scheduler.shutdownTimeoutMs).toBe(10_000) },
  APP_RETRY_BASE_DELAY: { value: '500ms', check: (cfg) => expect(cfg.scheduler.retryBaseDelayMs).toBe(500) },
  APP_RETRY_MAX_DELAY: { value: '1h', check: (cfg) => expect(cfg.scheduler.retryMaxDelayMs).toBe(3_600_000) },
  APP_WEBHOOK_MAX_ATTEMPTS: { value: '3', check: (cfg) => expect(cfg.webhook.maxAttempts).toBe(3) },
  APP_WEBHOOK_RETRY_BASE_DELAY: { value: '2s', check: (cfg) => expect(cfg.webhook.retryBaseDelayMs).toBe(2000) },
  APP_METRICS_ADDR: { value: ':9464', check: (cfg) => expect(cfg.metricsHttp).toEqual({ host: undefined, port: 9464 }) },
  APP_PUBLIC_URL: { value: 'https://vigil.example.com', check: (cfg) => expect(cfg.publicUrl).toBe('https://vigil.example.com') },
  APP_UI_READ_ONLY: { value: 'true', check: (cfg) => expect(cfg.uiReadOnly).toBe(true) },
  APP_QUEUE_DEGRADED_AGE: { value: '2m', check: (cfg) => expect(cfg.queueHealth.degradedAgeMs).toBe(120_000) },
  APP_QUEUE_UNHEALTHY_AGE: { value: '10m', check: (cfg) => expect(cfg.queueHealth.unhealthyAgeMs).toBe(600_000) },
  APP_QUEUE_DEGRADED_BACKLOG: { value: '50', check: (cfg) => expect(cfg.queueHealth.degradedBacklog).toBe(50) },
  APP_QUEUE_UNHEALTHY_BACKLOG: { value: '500', check: (cfg) => expect(cfg.queueHealth.unhealthyBacklog).toBe(500) },
  APP_MAX_OUTPUT_BYTES: { value: '1MiB', check: (cfg) => expect(cfg.scheduler.maxOutputBytes).toBe(1024 * 1024) },
  APP_WEBHOOK_SECRET: { value: 'hmac-key', check: (cfg) => expect(cfg.webhook.secret).toBe('hmac-key') },
  APP_HTTP_DENY_CIDRS: {
    value: '10.0.0.0/8,192.168.0.0/16',
    check: (cfg) => expect(cfg.httpDenyCidrs).toEqual(['10.0.0.0/8', '192.168.0.0/16']),
  },
  APP_BROWSER_PATH: { value: '/opt/chromium/chrome', check: (cfg) => expect(cfg.browser.path).toBe('/opt/chromium/chrome') },
  APP_BROWSER_CONCURRENCY: { value: '5', check: (cfg) => expect(cfg.browser.concurrency).toBe(5) },
  APP_HOST_CONCURRENCY: { value: '2', check: (cfg) => expect(cfg.hostLimits.concurrency).toBe(2) },
  APP_HOST_RATE: { value: '30/m', check: (cfg) => expect(cfg.hostLimits.rate).toEqual({ count: 30, perMs: 60_000 }) },
};

describe('environment variables', () => {
  it('the cases below cover exactly the variables in ENV_VARS', () => {
    expect(Object.keys(ENV_CASES).sort()).toEqual(Object.keys(ENV_VARS).sort());
  });

  it.each(Object.keys(ENV_VARS) as EnvVarName[])('honours %s', (name) => {
    const { value, extra, check } = ENV_CASES[name];
    const cfg = load({ ...extra, [name]: value });
    check(cfg);
    // The value really came from this variable: without it the same field has its default.
    const without = load({ ...extra });
    expect(() => check(without)).toThrow();
  });

  it('overrides a value from the APP_CONFIG file', () => {
    const file = writeJson('env-beats-file.json', { app: { task_queue_stream: 'from:file' } });
    expect(load({ APP_CONFIG: file }).queue.stream).toBe('from:file');
    expect(load({ APP_CONFIG: file, APP_TASK_QUEUE_STREAM: 'from:env' }).queue.stream).toBe('from:env');
  });

  it('ignores environment variables that are not in the table', () => {
    expect(() => load({ APP_NOT_A_SETTING: 'x', PATH: '/usr/bin' })).not.toThrow();
  });

  it.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['ON', true],
    ['false', false],
    ['0', false],
    ['no', false],
    ['off', false],
  ])('reads the boolean %s as %s', (text, expected) => {
    expect(load({ APP_RUN_SCHEDULER: text }).scheduler.enabled).toBe(expected);
  });

  it('treats empty optional strings as unset', () => {
    const cfg = load({ MYSQL_DSN: '', REDIS_ADDR: '', APP_WEBHOOK_SECRET: '' });
    expect(cfg.mysql).toBeUndefined();
    expect(cfg.redis).toBeUndefined();
    expect(cfg.webhook.secret).toBeUndefined();
  });

  it('splits :port, host:port and [v6]:port addresses', () => {
    expect(load({ APP_HTTP_ADDR: ':9000' }).http).toEqual({ host: undefined, port: 9000 });
    expect(load({ APP_HTTP_ADDR: '[::1]:9001' }).http).toEqual({ host: '::1', port: 9001 });
    expect(load({ REDIS_ADDR: ':6380' }).redis).toMatchObject({ host: '127.0.0.1', port: 6380 });
    expect(load({ REDIS_ADDR: 'cache.internal' }).redis).toMatchObject({ host: 'cache.internal', port: 6379 });
  });
});

describe('durations', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['7d', 604_800_000],
    ['1.5s', 1500],
    ['2000', 2000],
  ])('parses %s to %d ms', (text, expected) => {
    expect(load({ APP_PENDING_IDLE: text }).queue.pendingIdleMs).toBe(expected);
  });

  it('accepts a number of milliseconds in a config file', () => {
    const file = writeJson('duration-number.json', { app: { pending_idle: 1234 } });
    expect(load({ APP_CONFIG: file }).queue.pendingIdleMs).toBe(1234);
  });

  it.each(['soon', '-5s', '5 parsecs', '', '1h30m'])('refuses %j', (text) => {
    const err = loadError({ APP_PENDING_IDLE: text });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^APP_PENDING_IDLE /);
  });

  it('refuses durations below the minimum', () => {
    const err = loadError({ APP_SCHEDULE_INTERVAL: '1ms', APP_RUN_RETENTION: '10ms' });
    expect(err.problems.map((p) => p.split(' ')[0]).sort()).toEqual(['APP_RUN_RETENTION', 'APP_SCHEDULE_INTERVAL']);
  });
});

describe('validation', () => {
  it('reports every bad variable in one ConfigError', () => {
    const bad: Partial<Record<EnvVarName, string>> = {
      APP_ENV: 'staging',
      APP_LOG_LEVEL: 'loud',
      APP_HTTP_ADDR: 'no-port',
      APP_ENABLE_REDIS_QUEUE: 'maybe',
      APP_SCHEDULE_INTERVAL: 'often',
      APP_WORKER_POOL_SIZE: '0',
      APP_QUEUE_CAPACITY: '-1',
      APP_QUEUE_BATCH_SIZE: 'ten',
      APP_PENDING_IDLE: 'a while',
      MYSQL_POOL_SIZE: '2.5',
      APP_TASK_QUEUE_STREAM: '',
    };
    const err = loadError(bad as Record<string, string>);
    expect(err.code).toBe('config_invalid');
    expect(err.name).toBe('ConfigError');
    const named = err.problems.map((p) => p.split(' ')[0]);
    expect(named.sort()).toEqual(Object.keys(bad).sort());
    // The message lists them too, one per line, for a process that just prints the error.
    for (const name of Object.keys(bad)) expect(err.message).toContain(`- ${name} `);
    expect(err.message.split('\n')).toHaveLength(Object.keys(bad).length + 1);
  });

  it('shows the offending value so that the operator can find it', () => {
    const err = loadError({ APP_WORKER_POOL_SIZE: 'many' });
    expect(err.problems[0]).toContain('"many"');
  });

  it('refuses a MYSQL_DSN that is not a mysql:// URL with a database', () => {
    for (const dsn of ['postgres://u@h/db', 'mysql://u@h:3306', 'h:3306/db']) {
      const err = loadError({ MYSQL_DSN: dsn });
      expect(err.problems).toHaveLength(1);
      expect(err.problems[0]).toMatch(/^MYSQL_DSN /);
    }
  });

  it('refuses APP_ENV=production without APP_API_TOKENS', () => {
    const err = loadError({ APP_ENV: 'production' });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^APP_API_TOKENS /);
    expect(err.problems[0]).toContain('production');
  });

  it('refuses APP_ENV=production with only blank tokens', () => {
    const err = loadError({ APP_ENV: 'production', APP_API_TOKENS: ' , ,' });
    expect(err.problems[0]).toMatch(/^APP_API_TOKENS /);
  });

  // Fails today: crossFieldProblems counts a JSON array's length, while list() then drops blank items, so
  // production starts with apiTokens = [] (no auth at all).
  it('refuses APP_ENV=production when the config file lists only blank tokens', () => {
    const file = writeJson('prod-blank-tokens.json', { app: { api_tokens: ['', '  '] } });
    const err = loadError({ APP_ENV: 'production', APP_CONFIG: file });
    expect(err.problems.map((p) => p.split(' ')[0])).toEqual(['APP_API_TOKENS']);
  });

  it('accepts APP_ENV=production with tokens', () => {
    const cfg = load({ APP_ENV: 'production', APP_API_TOKENS: 'tok-1,tok-2' });
    expect(cfg.env).toBe('production');
    expect(cfg.apiTokens.map((t) => t.token)).toEqual(['tok-1', 'tok-2']);
  });

  it('accepts APP_ENV=production with tokens from the APP_CONFIG file', () => {
    const file = writeJson('prod-tokens.json', { app: { api_tokens: ['file-token'] } });
    expect(load({ APP_ENV: 'production', APP_CONFIG: file }).apiTokens).toEqual([{ name: 'token-1', token: 'file-token', scope: 'write' }]);
  });

  // Cross-field rules must not wait until every field is valid: all problems are reported at once.
  it('reports the missing production tokens and a bad DSN together with field errors', () => {
    const err = loadError({ APP_ENV: 'production', MYSQL_DSN: 'postgres://u@h/db', APP_PENDING_IDLE: 'soon' });
    const named = err.problems.map((p) => p.split(' ')[0]).sort();
    expect(named).toEqual(['APP_API_TOKENS', 'APP_PENDING_IDLE', 'MYSQL_DSN']);
  });

  // Fails today: REDIS_ADDR is not validated, so a garbage port becomes NaN and an out-of-range port is kept.
  it('refuses REDIS_ADDR and APP_HTTP_ADDR with a port that is not 1-65535', () => {
    const err = loadError({ REDIS_ADDR: 'localhost:abc', APP_HTTP_ADDR: ':99999' });
    const named = err.problems.map((p) => p.split(' ')[0]).sort();
    expect(named).toEqual(['APP_HTTP_ADDR', 'REDIS_ADDR']);
  });
});

describe('the returned config', () => {
  it('is frozen all the way down', () => {
    const cfg = load({ MYSQL_DSN: 'mysql://u@h:3306/db', REDIS_ADDR: 'r:6379', APP_API_TOKENS: 'a,b' });
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.queue)).toBe(true);
    expect(Object.isFrozen(cfg.scheduler)).toBe(true);
    expect(Object.isFrozen(cfg.scheduler.allowedTypes)).toBe(true);
    expect(Object.isFrozen(cfg.mysql)).toBe(true);
    expect(Object.isFrozen(cfg.redis)).toBe(true);
    expect(Object.isFrozen(cfg.apiTokens)).toBe(true);
    // ES modules run in strict mode, where writing to a frozen object throws.
    expect(() => {
      (cfg as { env: string }).env = 'production';
    }).toThrow(TypeError);
    expect(() => {
      (cfg.queue as { batchSize: number }).batchSize = 1;
    }).toThrow(TypeError);
    expect(() => (cfg.apiTokens as unknown as string[]).push('c')).toThrow(TypeError);
    expect(cfg.env).toBe('local');
    expect(cfg.apiTokens.map((t) => t.token)).toEqual(['a', 'b']);
  });

  it('is a fresh object per load, unaffected by later changes to the environment', () => {
    const env: Record<string, string> = { APP_WORKER_POOL_SIZE: '3' };
    const cfg = loadConfig({ env, defaultsFile: DEFAULTS_FILE });
    env.APP_WORKER_POOL_SIZE = '4';
    expect(cfg.scheduler.poolSize).toBe(3);
    expect(loadConfig({ env, defaultsFile: DEFAULTS_FILE }).scheduler.poolSize).toBe(4);
  });
});

describe('Redis topology', () => {
  const PASSWORD = 'Topo-S3cret-pw';
  const SENTINEL_PASSWORD = 'Sentinel-S3cret-pw';

  it('refuses two topologies at once, naming both variables and never a password', () => {
    const err = loadError({
      REDIS_ADDR: '127.0.0.1:6379',
      REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001',
      REDIS_PASSWORD: PASSWORD,
      REDIS_SENTINEL_PASSWORD: SENTINEL_PASSWORD,
    });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^REDIS_ADDR and REDIS_CLUSTER_NODES: .*set exactly one of REDIS_ADDR .*REDIS_CLUSTER_NODES .*REDIS_SENTINELS/);
    expect(err.message).not.toContain(PASSWORD);
    expect(err.message).not.toContain(SENTINEL_PASSWORD);
  });

  it('refuses all three at once, and the same from a file as from the environment', () => {
    const file = writeJson('three-topologies.json', {
      redis: { addr: 'r:6379', cluster_nodes: ['c:7000'], sentinels: 's:26379', sentinel_master: 'm', password: PASSWORD },
    });
    const err = loadError({ APP_CONFIG: file });
    expect(err.problems.some((p) => p.startsWith('REDIS_ADDR and REDIS_CLUSTER_NODES and REDIS_SENTINELS: these name 3'))).toBe(true);
    expect(err.message).not.toContain(PASSWORD);
  });

  it('treats an empty variable as unset, so one topology set beside empty others is fine', () => {
    expect(load({ REDIS_ADDR: '', REDIS_SENTINELS: '', REDIS_CLUSTER_NODES: '127.0.0.1:7000' }).redis?.topology).toBe('cluster');
  });

  it('names the master `mymaster` unless REDIS_SENTINEL_MASTER says otherwise', () => {
    expect(load({ REDIS_SENTINELS: '127.0.0.1:26379' }).redis).toMatchObject({ topology: 'sentinel', masterName: 'mymaster' });
    expect(load({ REDIS_SENTINEL_MASTER: 'm' }).redis).toBeUndefined();
  });

  it('refuses a node list with a bad address, naming the variable', () => {
    const err = loadError({ REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:notaport' });
    expect(err.problems.some((p) => p.startsWith('REDIS_CLUSTER_NODES'))).toBe(true);
  });

  it('masks the sentinel password and the Redis password in the logged config', () => {
    const cfg = load({ REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_MASTER: 'm', REDIS_PASSWORD: PASSWORD, REDIS_SENTINEL_PASSWORD: SENTINEL_PASSWORD });
    const json = JSON.stringify(redactConfig(cfg));
    expect(json).not.toContain(PASSWORD);
    expect(json).not.toContain(SENTINEL_PASSWORD);
    expect(json).toContain('"sentinelPassword":"***"');
  });
});

describe('redaction', () => {
  const secrets = {
    MYSQL_DSN: 'mysql://vigil:Db-S3cret-pw@db.example:3306/vigil',
    REDIS_ADDR: 'redis.example:6379',
    REDIS_PASSWORD: 'Redis-S3cret',
    APP_API_TOKENS: 'Token-One-S3cret,Token-Two-S3cret',
    APP_WEBHOOK_SECRET: 'Webhook-S3cret',
  };
  const secretStrings = ['Db-S3cret-pw', 'Redis-S3cret', 'Token-One-S3cret', 'Token-Two-S3cret', 'Webhook-S3cret'];

  it('masks the DSN password, the Redis password, the API tokens and the webhook secret', () => {
    const cfg = load(secrets);
    const red = redactConfig(cfg) as {
      mysql: { dsn: string; poolSize: number };
      redis: { host: string; password: string };
      apiTokens: { name: string; token: string; scope: string }[];
      webhook: { secret: string };
    };
    expect(red.mysql.dsn).toBe('mysql://vigil:***@db.example:3306/vigil');
    expect(red.mysql.poolSize).toBe(10);
    expect(red.redis.password).toBe('***');
    expect(red.redis.host).toBe('redis.example');
    expect(red.apiTokens).toEqual([
      { name: 'token-1', scope: 'write', token: '***' },
      { name: 'token-2', scope: 'write', token: '***' },
    ]);
    expect(red.webhook.secret).toBe('***');
  });

  it('leaves no secret in the JSON that would be logged', () => {
    const cfg = load(secrets);
    const json = JSON.stringify(redactConfig(cfg));
    for (const secret of secretStrings) expect(json).not.toContain(secret);
    // Not everything is masked: the log stays useful.
    expect(json).toContain('db.example');
    expect(json).toContain('vigil:task:queue');
  });

  it('does not change the config it redacts', () => {
    const cfg = load(secrets);
    redactConfig(cfg);
    expect(cfg.mysql?.dsn).toBe(secrets.MYSQL_DSN);
    expect(cfg.redis?.password).toBe(secrets.REDIS_PASSWORD);
    expect(cfg.webhook.secret).toBe(secrets.APP_WEBHOOK_SECRET);
  });

  it('keeps unset secrets unset rather than pretending they exist', () => {
    const red = redactConfig(load({ REDIS_ADDR: 'r:6379' })) as { redis: { password?: string }; webhook: { secret?: string } };
    expect(red.redis.password).toBeUndefined();
    expect(red.webhook.secret).toBeUndefined();
  });

  it('redactDsn masks percent-encoded passwords and fully masks what it cannot parse', () => {
    expect(redactDsn('mysql://u:p%40ss%3Aword@h:3306/db')).toBe('mysql://u:***@h:3306/db');
    expect(redactDsn('mysql://u@h:3306/db')).toBe('mysql://u@h:3306/db');
    expect(redactDsn('not a url with secret')).toBe('***');
  });
});

describe('API tokens and the rate limit', () => {
  it('reads bare tokens as write tokens named by position, and name:token:scope entries as given', () => {
    const cfg = load({ APP_API_TOKENS: 'bare-one, ops:S3cret-w:write ,dash:S3cret-r:read' });
    expect(cfg.apiTokens).toEqual([
      { name: 'token-1', token: 'bare-one', scope: 'write' },
      { name: 'ops', token: 'S3cret-w', scope: 'write' },
      { name: 'dash', token: 'S3cret-r', scope: 'read' },
    ]);
  });

  it.each([
    ['a:b', /entry 1: must be a bare token or name:token:scope/],
    ['ci:S3cret:admin', /entry 1 \(ci\): the scope must be read or write/],
    ['ok,bad name:S3cret:read', /entry 2: the name must be/],
    ['ci::read', /entry 1 \(ci\): the token is empty/],
    ['ci:S3cret-a:read,ci:S3cret-b:write', /entry 2: the name ci is used twice/],
    ['a:S3cret:read,b:S3cret:write', /entry 2 \(b\): the same token as a/],
  ])('refuses %j, naming the entry but never its token', (value, message) => {
    const err = loadError({ APP_API_TOKENS: value });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^APP_API_TOKENS /);
    expect(err.problems[0]).toMatch(message);
    expect(err.message).not.toContain('S3cret');
  });

  it('limits to 20 per second with a burst of 40 by default: 40 requests per 2 s window', () => {
    expect(load().rateLimit).toEqual({ points: 40, windowSeconds: 2 });
    expect(load({ APP_RATE_LIMIT: '5/s', APP_RATE_LIMIT_BURST: '5' }).rateLimit).toEqual({ points: 5, windowSeconds: 1 });
    expect(load({ APP_RATE_LIMIT: '3600/h' }).rateLimit).toEqual({ points: 2, windowSeconds: 2 });
  });

  it.each(['off', '0'])('turns the limit off with %j', (value) => {
    expect(load({ APP_RATE_LIMIT: value }).rateLimit).toBeUndefined();
  });

  it.each(['20', 'fast', '20/d', '-1/s', '0/s'])('refuses APP_RATE_LIMIT=%j', (value) => {
    expect(loadError({ APP_RATE_LIMIT: value }).problems[0]).toMatch(/^APP_RATE_LIMIT .*20\/s/);
  });
});

describe('one declaration per setting', () => {
  /** Settings only a config file can set: node-cron lines and tuning knobs of housekeeping. */
  const FILE_ONLY = [
    'mysql.connect_timeout',
    'housekeeping.trim_schedule',
    'housekeeping.retention_schedule',
    'housekeeping.consumer_cleanup_schedule',
    'housekeeping.consumer_idle',
    'housekeeping.retention_batch',
  ];

  function leaves(schema: z.ZodType, prefix: string[] = []): string[] {
    const inner = unwrapToObject(schema);
    if (inner === undefined) return [prefix.join('.')];
    return Object.entries(inner.shape).flatMap(([key, child]) => leaves(child as z.ZodType, [...prefix, key]));
  }

  function unwrapToObject(schema: z.ZodType): z.ZodObject | undefined {
    if (schema instanceof z.ZodObject) return schema;
    const def = schema.def as { innerType?: z.ZodType };
    return def.innerType === undefined ? undefined : unwrapToObject(def.innerType);
  }

  it('gives every field of the file format an environment variable, or lists it as file-only', () => {
    const envPaths = Object.values(ENV_VARS).map((path) => path.join('.'));
    expect(new Set(envPaths).size).toBe(envPaths.length);
    expect([...envPaths, ...FILE_ONLY].sort()).toEqual(leaves(fileSchema).sort());
  });

  it('lists every field of the file format in configs/config.json, except secrets and what is unset by default', () => {
    const file = JSON.parse(readFileSync(DEFAULTS_FILE, 'utf8')) as Record<string, Record<string, unknown>>;
    const inFile = Object.entries(file).flatMap(([section, values]) => Object.keys(values).map((key) => `${section}.${key}`));
    const unsetByDefault = ['mysql.dsn', 'redis.addr', 'redis.password', 'redis.cluster_nodes', 'redis.sentinels', 'redis.sentinel_password', 'app.api_tokens', 'app.rate_limit_burst', 'app.webhook_secret', 'app.metrics_addr', 'app.browser_path', 'app.public_url'];
    expect([...inFile, ...unsetByDefault].sort()).toEqual(leaves(fileSchema).sort());
  });
});
