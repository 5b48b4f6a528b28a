/**
 * Shared plumbing of the benchmarks: services (a fresh database per benchmark, a stream prefix per run), child
 * processes stopped by their pid, /proc readings, percentiles, tables and result files.
 *
 * The services are the ones `make test` uses: scripts/test-services.sh exports VIGIL_TEST_MYSQL_DSN (an admin DSN
 * without a database) and VIGIL_TEST_REDIS_ADDR; run by hand, the usual local ports are tried.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { type Pool, createConnection, createPool } from 'mysql2/promise';
import { StoreMigrator, openStore } from '../internal/store/index.js';

export const ROOT = resolve(import.meta.dirname, '..');
export const RESULTS_DIR = join(ROOT, 'bench', 'results');
export const ADMIN_DSN = process.env.VIGIL_TEST_MYSQL_DSN ?? 'mysql://root@127.0.0.1:3306';
export const REDIS_ADDR = process.env.VIGIL_TEST_REDIS_ADDR ?? '127.0.0.1:6379';

/** BENCH_SCALE multiplies every size and duration (0.1 for a quick check); the targets are for 1. */
export const SCALE = positiveNumber(process.env.BENCH_SCALE, 1);
/** BENCH_PROFILE=1 runs the Vigil children with --cpu-prof and summarises the profiles. */
export const PROFILE = process.env.BENCH_PROFILE === '1';
/**
 * How children run: `dist` (default) compiles cmd/, internal/ and the bench children with tsc into bench/.build
 * and runs plain JavaScript, as production does (Dockerfile, make run-api); `tsx` runs the TypeScript through tsx,
 * which costs about 50 MB of RSS per process and start-up time, but no build.
 */
export const RUNTIME: 'dist' | 'tsx' = process.env.BENCH_RUNTIME === 'tsx' ? 'tsx' : 'dist';
const BUILD_DIR = join(ROOT, 'bench', '.build');

/** Compiles the children once per run when RUNTIME is dist (type checking is `make lint`'s job). */
export function prepareRuntime(): void {
  if (RUNTIME !== 'dist') return;
  rmSync(BUILD_DIR, { recursive: true, force: true });
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'bench', 'tsconfig.build.json'), '--noCheck'], { cwd: ROOT, stdio: 'inherit' });
}

/** The script to run for a TypeScript entry point (relative to the repository), by RUNTIME. */
export function entryPoint(tsPath: string): { script: string; tsx: boolean } {
  if (RUNTIME === 'tsx') return { script: tsPath, tsx: true };
  return { script: join(BUILD_DIR, tsPath.replace(/\.ts$/, '.js')), tsx: false };
}

/**
 * Extra environment for every Vigil child, as JSON (for experiments such as '{"MYSQL_POOL_SIZE":"50"}'); it
 * overrides the benchmark's own settings, and is recorded in the results.
 */
export const VIGIL_ENV_OVERRIDES: Record<string, string> = parseOverrides(process.env.BENCH_VIGIL_ENV);

function parseOverrides(text: string | undefined): Record<string, string> {
  if (text === undefined || text.trim() === '') return {};
  const parsed = JSON.parse(text) as unknown;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('BENCH_VIGIL_ENV must be a JSON object');
  return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
}

/** Log level of the Vigil children (their default, info, unless BENCH_VIGIL_LOG_LEVEL says otherwise). */
export const VIGIL_LOG_LEVEL = process.env.BENCH_VIGIL_LOG_LEVEL ?? 'info';

function positiveNumber(text: string | undefined, fallback: number): number {
  const value = Number(text);
  return text !== undefined && text !== '' && Number.isFinite(value) && value > 0 ? value : fallback;
}

/** `n` scaled by BENCH_SCALE, at least `min`. */
export function scaled(n: number, min = 1): number {
  return Math.max(min, Math.round(n * SCALE));
}

export function randomTag(): string {
  return randomBytes(4).toString('hex');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** Polls `check` until it returns something other than undefined/false, or throws after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  options: { timeoutMs: number; intervalMs?: number; message: string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const reason = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.message}${reason}`);
    }
    await sleep(options.intervalMs ?? 100);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// services

export interface BenchDatabase {
  name: string;
  /** DSN of the database, for MYSQL_DSN of a child. */
  dsn: string;
  /** A small pool for the benchmark's own loading and measuring (UTC times). */
  pool: Pool;
  drop(): Promise<void>;
}

/** Creates and migrates a fresh database. */
export async function createBenchDatabase(label: string): Promise<BenchDatabase> {
  const name = `vigil_bench_${label.replace(/[^a-z0-9]+/gi, '_').toLowerCase()}_${randomTag()}`.slice(0, 64);
  const admin = await createConnection({ uri: ADMIN_DSN });
  try {
    await admin.query(`CREATE DATABASE \`${name}\``);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_DSN);
  url.pathname = `/${name}`;
  const dsn = url.toString();
  const store = openStore({ mysqlDsn: dsn, poolSize: 2 });
  try {
    await new StoreMigrator(store).up();
  } finally {
    await store.close();
  }
  const pool = createPool({ uri: dsn, connectionLimit: 4, timezone: 'Z', supportBigNumbers: true, bigNumberStrings: false });
  let dropped = false;
  const database: BenchDatabase = {
    name,
    dsn,
    pool,
    drop: async () => {
      if (dropped) return;
      dropped = true;
      liveDatabases.delete(database);
      await pool.end().catch(() => undefined);
      const conn = await createConnection({ uri: ADMIN_DSN });
      try {
        await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await conn.end();
      }
    },
  };
  liveDatabases.add(database);
  return database;
}

const liveDatabases = new Set<BenchDatabase>();

/** Drops every database a benchmark created and has not dropped yet (on an interrupt). */
export async function dropAllDatabases(): Promise<void> {
  await Promise.all([...liveDatabases].map((db) => db.drop().catch(() => undefined)));
}

export interface TaskRowsSpec {
  count: number;
  status: 'running' | 'paused';
  /** Seconds between slots. */
  every: number;
  /** The first slot (next_run_at = run_after) of the i-th task. */
  slotOf: (i: number) => Date;
  type?: string;
  /** The payload JSON of every task (default `{}`). */
  payload?: string;
}

/**
 * Inserts tasks straight into the table in multi-row INSERTs (the bulk path the issue allows for loading), as the
 * API would leave them minus the publish. Returns the id range.
 */
export async function insertTasks(pool: Pool, spec: TaskRowsSpec): Promise<{ firstId: number; lastId: number; count: number }> {
  const tag = randomTag();
  const now = new Date();
  const chunk = 2000;
  for (let start = 0; start < spec.count; start += chunk) {
    const rows: unknown[][] = [];
    for (let i = start; i < Math.min(spec.count, start + chunk); i += 1) {
      const slot = spec.slotOf(i);
      rows.push([`bench ${tag} ${i}`, spec.type ?? 'noop', spec.payload ?? '{}', spec.every, 3, 30_000, 3, spec.status, slot, slot, 0, now, now]);
    }
    await pool.query(
      `INSERT INTO tasks (name, type, payload, schedule_every, priority, timeout_ms, max_attempts, status, next_run_at,
         run_after, attempts, created_at, updated_at) VALUES ?`,
      [rows],
    );
  }
  const [result] = await pool.query('SELECT MIN(id) AS a, MAX(id) AS b, COUNT(*) AS c FROM tasks WHERE name LIKE ?', [`bench ${tag} %`]);
  const row = (result as { a: number; b: number; c: number }[])[0];
  return { firstId: Number(row?.a), lastId: Number(row?.b), count: Number(row?.c) };
}

/** The first row of a query, typed by the caller. */
export async function queryOne<T>(pool: Pool, text: string, params: unknown[] = []): Promise<T> {
  const [rows] = await pool.query(text, params);
  return (rows as T[])[0] as T;
}

export function redisHostPort(): { host: string; port: number } {
  const i = REDIS_ADDR.lastIndexOf(':');
  return { host: REDIS_ADDR.slice(0, i).replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(REDIS_ADDR.slice(i + 1)) };
}

export function connectRedis(): Redis {
  return new Redis({ ...redisHostPort(), maxRetriesPerRequest: 3 });
}

/** A stream name of its own for one run, so that runs and other people's tests never share keys. */
export function streamName(label: string): string {
  return `vigil_bench:${label}:${randomTag()}`;
}

/** Deletes every Redis key whose name contains `fragment` (the stream name or a BullMQ queue name). */
export async function deleteKeysContaining(fragment: string): Promise<number> {
  const redis = connectRedis();
  let deleted = 0;
  try {
    const pattern = `*${fragment.replace(/[*?[\]\\]/g, '\\$&')}*`;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}

export async function serverVersions(): Promise<{ mysql: string; redis: string }> {
  const conn = await createConnection({ uri: ADMIN_DSN });
  const redis = connectRedis();
  try {
    const [rows] = await conn.query('SELECT VERSION() AS v');
    const info = await redis.info('server');
    return {
      mysql: String((rows as { v: string }[])[0]?.v ?? '?'),
      redis: /redis_version:(\S+)/.exec(info)?.[1] ?? '?',
    };
  } finally {
    await conn.end();
    redis.disconnect();
  }
}

/** The pid of redis-server when it runs on this machine (for its CPU time), from INFO. */
export async function redisServerPid(): Promise<number | undefined> {
  const redis = connectRedis();
  try {
    const pid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1]);
    return Number.isInteger(pid) && procAlive(pid) ? pid : undefined;
  } finally {
    redis.disconnect();
  }
}

/** The pid of the MySQL/MariaDB server when it runs on this machine, from its pid file. */
export async function mysqlServerPid(): Promise<number | undefined> {
  const conn = await createConnection({ uri: ADMIN_DSN });
  try {
    const [rows] = await conn.query('SELECT @@pid_file AS f');
    const file = String((rows as { f: string }[])[0]?.f ?? '');
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && procAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  } finally {
    await conn.end();
  }
}

const MYSQL_COUNTERS = ['Questions', 'Com_select', 'Com_insert', 'Com_update', 'Com_commit', 'Innodb_data_fsyncs', 'Bytes_received', 'Bytes_sent'] as const;

/**
 * Server-wide counters (MySQL statements and fsyncs, Redis commands), to count what one run cost the servers.
 * They count every client: on a shared server other people's tests add to them, so read them as upper bounds
 * there, and as exact figures with throwaway servers (VIGIL_TEST_FORCE_LOCAL=1 make bench).
 */
export async function serverCounters(): Promise<Record<string, number>> {
  const conn = await createConnection({ uri: ADMIN_DSN });
  const redis = connectRedis();
  try {
    const [rows] = await conn.query(`SHOW GLOBAL STATUS WHERE Variable_name IN (${MYSQL_COUNTERS.map(() => '?').join(', ')})`, [...MYSQL_COUNTERS]);
    const out: Record<string, number> = {};
    for (const row of rows as { Variable_name: string; Value: string }[]) out[`mysql.${row.Variable_name}`] = Number(row.Value);
    out['redis.commands'] = Number(/total_commands_processed:(\d+)/.exec(await redis.info('stats'))?.[1] ?? Number.NaN);
    return out;
  } finally {
    await conn.end();
    redis.disconnect();
  }
}

/** The counters spent between two snapshots, per unit of work (for example per job). */
export function countersPer(before: Record<string, number>, after: Record<string, number>, units: number): Record<string, number> {
  return Object.fromEntries(Object.keys(after).map((k) => [k, round(((after[k] ?? 0) - (before[k] ?? 0)) / Math.max(1, units), 2)]));
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

/** Polls an HTTP URL until it answers 200. */
export async function waitHttpOk(url: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => (await fetch(url)).status === 200, { timeoutMs, intervalMs: 200, message: `200 from ${url}` });
}

// ---------------------------------------------------------------------------------------------------------------
// child processes

export interface BenchChild {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Calls `fn` for each stdout/stderr line (only when the output is captured, not sent to a file). */
  onLine(fn: (line: string) => void): void;
  /** Resolves with the first line matching `pattern`, including lines already seen. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The last lines of output (captured) or of the log file. */
  tail(n?: number): string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const liveChildren = new Set<BenchChild>();
let logDir: string | undefined;

/** Where child logs go for this run (removed at the end unless BENCH_KEEP_LOGS=1). */
export function benchLogDir(): string {
  logDir ??= mkdtempSync(join(tmpdir(), 'vigil-bench-'));
  return logDir;
}

export function removeLogDir(): void {
  if (logDir !== undefined && process.env.BENCH_KEEP_LOGS !== '1') rmSync(logDir, { recursive: true, force: true });
  else if (logDir !== undefined) process.stderr.write(`bench: child logs kept in ${logDir}\n`);
}

export interface SpawnOptions {
  env: Record<string, string>;
  /** Send stdout and stderr to a log file instead of capturing them line by line (cheaper for chatty children). */
  toFile?: boolean;
  /** Node flags before the script (for example --cpu-prof). */
  nodeFlags?: string[];
  /** Load the script through tsx (TypeScript). Default true. */
  tsx?: boolean;
}

/** Environment every child starts from: nothing of the parent's APP_* or MYSQL_* leaks in. */
export function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ']) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  return env;
}

/**
 * BENCH_REF_BUILD: the compiled tree (a `dist/`) of another build of Vigil, say of the main branch. Benchmarks that
 * support it run that build's entry points beside this tree's (sides labelled `-ref`) in the same run, so that a
 * change is judged by a ratio taken side by side rather than by two runs minutes apart.
 */
export const REF_BUILD = process.env.BENCH_REF_BUILD;

/** Starts a Vigil entry point of this tree or, with `ref`, its compiled twin under BENCH_REF_BUILD. */
export function spawnVigilEntry(name: string, tsPath: string, ref: boolean, options: SpawnOptions): BenchChild {
  if (!ref) return spawnEntry(name, tsPath, [], options);
  if (REF_BUILD === undefined) throw new Error(`${name}: a reference side needs BENCH_REF_BUILD`);
  return spawnNode(name, join(REF_BUILD, tsPath.replace(/\.ts$/, '.js')), [], { ...options, tsx: false });
}

/** Starts a TypeScript entry point (compiled or through tsx, by RUNTIME) and tracks it until it exits. */
export function spawnEntry(name: string, tsPath: string, args: string[], options: SpawnOptions): BenchChild {
  const { script, tsx } = entryPoint(tsPath);
  return spawnNode(name, script, args, { ...options, tsx });
}

/** Starts `node [flags] <script> [args]` (TypeScript through tsx unless told) and tracks it until it exits. */
export function spawnNode(name: string, script: string, args: string[], options: SpawnOptions): BenchChild {
  const flags = [...(options.nodeFlags ?? []), ...(options.tsx === false ? [] : ['--import', 'tsx'])];
  let fd: number | undefined;
  let file: string | undefined;
  if (options.toFile === true) {
    file = join(benchLogDir(), `${name.replace(/[^a-z0-9._-]+/gi, '_')}-${randomTag()}.log`);
    fd = openSync(file, 'a');
  }
  const child = spawn(process.execPath, [...flags, script, ...args], {
    cwd: ROOT,
    env: { ...baseEnv(), ...options.env },
    stdio: fd === undefined ? ['pipe', 'pipe', 'pipe'] : ['pipe', fd, fd],
  });
  if (fd !== undefined) closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  const lines: string[] = [];
  const listeners: ((line: string) => void)[] = [];
  const collect = (stream: NodeJS.ReadableStream | null) => {
    let buffered = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (lines.length > 2000) lines.splice(0, 1000);
        for (const fn of listeners) fn(line);
        if (process.env.BENCH_VERBOSE === '1') process.stderr.write(`[${name} ${child.pid}] ${line}\n`);
      }
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.on('exit', (code, signal) => done({ code, signal }));
  });
  const handle: BenchChild = {
    name,
    pid: child.pid,
    child,
    onLine: (fn) => listeners.push(fn),
    waitForLine: (pattern, timeoutMs = 60_000) =>
      waitFor(
        () => {
          if (!handle.alive()) throw new Error(`${name} exited; last lines:\n${handle.tail(15).join('\n')}`);
          return lines.find((line) => pattern.test(line));
        },
        { timeoutMs, intervalMs: 50, message: `${name} to print ${pattern}` },
      ),
    tail: (n = 20) => {
      if (file === undefined) return lines.slice(-n);
      try {
        return readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-n);
      } catch {
        return [];
      }
    },
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: async (graceMs = 20_000) => {
      if (handle.alive()) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          if (handle.alive()) child.kill('SIGKILL');
        }, graceMs);
        await exited;
        clearTimeout(timer);
      }
      liveChildren.delete(handle);
    },
  };
  liveChildren.add(handle);
  void exited.then(() => liveChildren.delete(handle));
  return handle;
}

/** Stops every child still running (on the way out, or on a signal). */
export async function stopAllChildren(graceMs = 5000): Promise<void> {
  await Promise.all([...liveChildren].map((c) => c.stop(graceMs)));
}

/** Node flags of a Vigil child: --cpu-prof into bench/results/profiles/<label>/ when profiling. */
export function vigilNodeFlags(label: string): string[] {
  if (!PROFILE) return [];
  const dir = join(RESULTS_DIR, 'profiles', label);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

/** The environment of a Vigil child (cmd/api, cmd/scheduler or bench/vigil-process.ts) for one store and stream. */
export function vigilEnv(params: {
  dsn: string;
  stream: string;
  mode: 'stream' | 'polling';
  extra?: Record<string, string>;
}): Record<string, string> {
  return {
    MYSQL_DSN: params.dsn,
    REDIS_ADDR,
    APP_ENABLE_REDIS_QUEUE: params.mode === 'stream' ? 'true' : 'false',
    APP_TASK_QUEUE_STREAM: params.stream,
    APP_LOG_LEVEL: VIGIL_LOG_LEVEL,
    APP_SHUTDOWN_TIMEOUT: '10s',
    // The benchmarks measure throughput, which a per-client rate limit would cap.
    APP_RATE_LIMIT: 'off',
    ...params.extra,
    ...VIGIL_ENV_OVERRIDES,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// /proc readings

let clockTicks: number | undefined;

/** Clock ticks per second of /proc/<pid>/stat times. */
function clkTck(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

function procAlive(pid: number): boolean {
  try {
    readFileSync(`/proc/${pid}/stat`);
    return true;
  } catch {
    return false;
  }
}

/** CPU time (user + system, ms) a process has used so far; undefined when /proc cannot tell. */
export function cpuTimeMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces: state is field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / clkTck();
  } catch {
    return undefined;
  }
}

/** Resident memory now and at its peak (VmRSS, VmHWM), in MB. */
export function memoryMb(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** CPU used by a set of processes over an interval: start(), then end() gives seconds and the share of one core. */
export class CpuMeter {
  private readonly startWall = Date.now();
  private readonly start: Map<string, number | undefined>;

  constructor(private readonly pids: Record<string, number | undefined>) {
    this.start = new Map(Object.entries(pids).map(([name, pid]) => [name, cpuTimeMs(pid)]));
  }

  /** Per process: CPU seconds and the share of one core (1 = one core busy the whole time). */
  end(): Record<string, { cpuSeconds: number; coreShare: number } | null> {
    const wall = (Date.now() - this.startWall) / 1000;
    const out: Record<string, { cpuSeconds: number; coreShare: number } | null> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      const before = this.start.get(name);
      const after = cpuTimeMs(pid);
      out[name] =
        before === undefined || after === undefined
          ? null
          : { cpuSeconds: round((after - before) / 1000, 2), coreShare: round((after - before) / 1000 / wall, 3) };
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// statistics

export interface Summary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number),
    mean: sorted.length === 0 ? Number.NaN : sum / sorted.length,
  };
}

export function round(value: number, digits = 1): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

// ---------------------------------------------------------------------------------------------------------------
// figures, tables and result files

/** A target a figure is compared with: at least (`>=`) or at most (`<=`) `value`. */
export interface Target {
  op: '>=' | '<=';
  value: number;
}

export interface Figure {
  /** What is measured, as a table row label. */
  metric: string;
  value: number | null;
  unit: string;
  target?: Target;
  note?: string;
}

export interface FigureResult extends Figure {
  /** value / target: at least 1 meets a `>=` target, at most 1 meets a `<=` target. */
  ratioToTarget: number | null;
  met: boolean | null;
}

export function judge(figure: Figure): FigureResult {
  const { target, value } = figure;
  if (target === undefined || value === null || !Number.isFinite(value)) {
    return { ...figure, ratioToTarget: null, met: target === undefined ? null : false };
  }
  const ratio = target.value === 0 ? null : value / target.value;
  const met = target.op === '>=' ? value >= target.value : value <= target.value;
  return { ...figure, ratioToTarget: ratio === null ? null : round(ratio, 3), met };
}

function formatNumber(value: number | null, unit: string): string {
  if (value === null || !Number.isFinite(value)) return 'n/a';
  const abs = Math.abs(value);
  const digits = unit === '×' || abs < 10 ? 2 : abs < 100 ? 1 : 0;
  const text = value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  return unit === '' ? text : unit === '×' ? `${text}×` : `${text} ${unit}`;
}

/** Prints a table: metric, value, target, value/target, met. */
export function printTable(title: string, figures: readonly FigureResult[]): string {
  const rows = figures.map((f) => [
    f.metric,
    formatNumber(f.value, f.unit),
    f.target === undefined ? '' : `${f.target.op} ${formatNumber(f.target.value, f.unit)}`,
    f.ratioToTarget === null ? '' : `${f.ratioToTarget.toFixed(2)}`,
    f.met === null ? '' : f.met ? 'yes' : 'NO',
  ]);
  const header = ['metric', 'value', 'target', 'value/target', 'met'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const text = [
    `\n### ${title}\n`,
    line(header),
    `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...rows.map(line),
    ...figures.filter((f) => f.note !== undefined).map((f) => `\n- ${f.metric}: ${f.note}`),
    '',
  ].join('\n');
  process.stdout.write(`${text}\n`);
  return text;
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  node: string;
  platform: string;
  totalMemMb: number;
  loadAvgAtStart: number[];
  mysql: string;
  redis: string;
}

export async function machineInfo(): Promise<MachineInfo> {
  const versions = await serverVersions().catch(() => ({ mysql: '?', redis: '?' }));
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '?',
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    totalMemMb: Math.round(totalmem() / 1024 / 1024),
    loadAvgAtStart: loadavg().map((l) => round(l, 2)),
    ...versions,
  };
}

export interface BenchOutcome {
  /** Figures with targets and the figures reported beside them. */
  figures: Figure[];
  /** Settings and raw measurements behind the figures. */
  details: Record<string, unknown>;
}

/** Writes bench/results/<name>.json and returns the table text. */
export function writeResult(name: string, machine: MachineInfo, outcome: BenchOutcome, startedAt: Date): string {
  const figures = outcome.figures.map(judge);
  const table = printTable(`${name} (BENCH_SCALE=${SCALE})`, figures);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const result = {
    name,
    date: startedAt.toISOString(),
    durationSeconds: round((Date.now() - startedAt.getTime()) / 1000, 1),
    scale: SCALE,
    runtime: RUNTIME,
    vigilEnvOverrides: VIGIL_ENV_OVERRIDES,
    machine: { ...machine, loadAvgAtEnd: loadavg().map((l) => round(l, 2)) },
    figures,
    details: outcome.details,
    table,
  };
  writeFileSync(join(RESULTS_DIR, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
  return table;
}
