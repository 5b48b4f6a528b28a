import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import type { Store } from '../../internal/store/index.js';
import { REDIS_ADDR, waitFor } from './services.js';

const ROOT = resolve(import.meta.dirname, '../..');

export interface VigilChild {
  child: ChildProcess;
  /** Every stdout and stderr line so far. */
  lines: string[];
  /** Resolves with the first line matching `pattern` (including lines already seen). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  kill(signal: NodeJS.Signals): void;
}

/**
 * Starts a real Vigil process (test/support/test-process.ts) with the given environment. Unless `log` is set,
 * its logs are kept in `lines` only; set VIGIL_TEST_LOG=info to see them on the console.
 */
export function spawnVigil(role: 'api' | 'scheduler', env: Record<string, string>): VigilChild {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/test-process.ts', role], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', APP_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const collect = (stream: NodeJS.ReadableStream | null) => {
    let buffered = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (process.env.VIGIL_TEST_LOG !== undefined) process.stderr.write(`[${role} ${child.pid}] ${line}\n`);
      }
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  const exited = new Promise<number | string>((resolveExit) => {
    child.on('exit', (code, signal) => resolveExit(code ?? signal ?? -1));
  });
  return {
    child,
    lines,
    exited,
    kill: (signal) => child.kill(signal),
    waitForLine: (pattern, timeoutMs = 20_000) =>
      waitFor(() => lines.find((line) => pattern.test(line)), { timeoutMs, message: `a line matching ${pattern}` }),
  };
}

/** The `RUN <taskId> <slot> <attempt>` lines of children: one per handler call. */
export function runLines(children: readonly VigilChild[]): { taskId: number; slot: string; attempt: number }[] {
  return children.flatMap((c) =>
    c.lines
      .filter((line) => line.startsWith('RUN '))
      .map((line) => {
        const [, taskId, slot, attempt] = line.split(' ');
        return { taskId: Number(taskId), slot: String(slot), attempt: Number(attempt) };
      }),
  );
}

/**
 * The environment of a child that shares one store and one stream with the test, with timings fast enough for
 * crash tests: leases of 1.5 s (half the recovery timeout), a 200 ms tick, stalled entries reclaimed after 1 s.
 */
export function childEnv(
  storeEnv: Record<string, string>,
  stream: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...storeEnv,
    REDIS_ADDR,
    APP_TASK_QUEUE_STREAM: stream,
    APP_SCHEDULE_INTERVAL: '200ms',
    APP_PENDING_IDLE: '1s',
    APP_RECOVERY_TIMEOUT: '3s',
    APP_SHUTDOWN_TIMEOUT: '10s',
    APP_RETRY_BASE_DELAY: '100ms',
    APP_RETRY_MAX_DELAY: '500ms',
    APP_HTTP_ADDR: '127.0.0.1:0',
    APP_LOG_LEVEL: 'info',
    // Tests send bursts of requests from one address; the rate limit has tests of its own that turn it on.
    APP_RATE_LIMIT: 'off',
    ...extra,
  };
}

/** Whether the child process is still running. */
export function isAlive(child: VigilChild): boolean {
  return child.child.exitCode === null && child.child.signalCode === null;
}

/** SIGKILLs every child still running and waits for each to exit (for afterAll). */
export async function killAll(children: readonly VigilChild[]): Promise<void> {
  await Promise.all(
    children.map(async (c) => {
      if (isAlive(c)) c.kill('SIGKILL');
      await c.exited;
    }),
  );
}

/** Deletes the five priority streams of a stream name and its write-probe stream (for afterAll). */
export async function deleteStreams(stream: string): Promise<void> {
  const [host, port] = REDIS_ADDR.split(':');
  const redis = new Redis({ host, port: Number(port), lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await redis.del(...[1, 2, 3, 4, 5].map((p) => `{${stream}}:p${p}`), `{${stream}}:probe`);
  } finally {
    redis.disconnect();
  }
}

export interface DueTaskSpec {
  type: string;
  payload?: Record<string, unknown>;
  /** Seconds between slots (default 3600: one slot per test). */
  every?: number;
  maxAttempts?: number;
  timeoutMs?: number;
  priority?: number;
}

/**
 * Inserts tasks due at once (next_run_at = run_after = `now`), in multi-row inserts, and returns their ids and
 * their first slot. Straight through the store, as the API would leave them, minus the publish.
 */
export async function insertDueTasks(
  store: Store,
  specs: readonly DueTaskSpec[],
  now = new Date(),
): Promise<{ ids: number[]; slot: Date }> {
  const slot = new Date(now);
  const tag = randomBytes(4).toString('hex');
  const rows = specs.map((spec, i) => ({
    name: `${tag} ${i}`,
    type: spec.type,
    payload: JSON.stringify(spec.payload ?? {}),
    schedule_every: spec.every ?? 3600,
    schedule_cron: null,
    schedule_tz: null,
    priority: spec.priority ?? 3,
    timeout_ms: spec.timeoutMs ?? 30_000,
    max_attempts: spec.maxAttempts ?? 3,
    status: 'running' as const,
    notify: null,
    next_run_at: slot,
    run_after: slot,
    attempts: 0,
    created_at: slot,
    updated_at: slot,
  }));
  for (let i = 0; i < rows.length; i += 200) {
    await store.db.insertInto('tasks').values(rows.slice(i, i + 200)).execute();
  }
  const inserted = await store.db.selectFrom('tasks').select('id').where('name', 'like', `${tag} %`).orderBy('id').execute();
  const ids = inserted.map((r) => Number(r.id));
  return { ids, slot };
}

/**
 * Waits for the child's `READY <port>` line and returns the port (0 for a scheduler). Start-up is slow when
 * several test files start processes at once on a small machine, hence the long default; on failure the error
 * carries the child's exit state and last lines.
 */
export async function waitReady(child: VigilChild, timeoutMs = 45_000): Promise<number> {
  try {
    const line = await child.waitForLine(/^READY/, timeoutMs);
    return Number(line.split(' ')[1] ?? 0);
  } catch (err) {
    const state = isAlive(child) ? 'still running' : `exited (${child.child.exitCode ?? child.child.signalCode})`;
    throw new Error(`${(err as Error).message}; the child ${state}, last lines:\n${child.lines.slice(-10).join('\n')}`);
  }
}

/**
 * Where Debian's libfaketime is (the `faketime` package), or undefined when it is not installed. Preloaded into a
 * child with `FAKETIME`, it shifts the child's wall clock (Date.now) and nothing else.
 */
export function findLibfaketime(): string | undefined {
  const candidates = ['/usr/lib/faketime/libfaketime.so.1'];
  try {
    for (const dir of readdirSync('/usr/lib')) candidates.push(`/usr/lib/${dir}/faketime/libfaketime.so.1`);
  } catch {
    // No /usr/lib: not a Debian-like system.
  }
  return candidates.find((path) => existsSync(path));
}

/**
 * The environment that runs a child under a wall clock shifted by `shift` (faketime's syntax: `+25s`, `-25s`). The
 * monotonic clock is left alone, so timers run at the true pace. Throws when libfaketime is missing.
 */
export function faketimeEnv(shift: string): Record<string, string> {
  const lib = findLibfaketime();
  if (lib === undefined) throw new Error('libfaketime is not installed (apt-get install faketime)');
  return { LD_PRELOAD: lib, FAKETIME: shift, FAKETIME_DONT_FAKE_MONOTONIC: '1' };
}

/** This machine's clock as a child under `env` reads it, minus the true clock (ms): to check that a shift works. */
export function childClockOffsetMs(env: Record<string, string>): number {
  const before = Date.now();
  const out = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(Date.now()))'], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
  const after = Date.now();
  return Number(out.stdout) - (before + after) / 2;
}

/** One `span` handler call of a child, from its RUN and END lines: when it started and stopped (monotonic ms). */
export interface HandlerSpan {
  taskId: number;
  slot: string;
  attempt: number;
  startMs: number;
  /** Undefined while it still runs. */
  endMs: number | undefined;
  pid: number | undefined;
}

/** The handler calls of children that print monotonic times (RUN … and END … lines of `span` tasks). */
export function handlerSpans(children: readonly VigilChild[]): HandlerSpan[] {
  const spans: HandlerSpan[] = [];
  for (const c of children) {
    const open = new Map<string, HandlerSpan>();
    for (const line of c.lines) {
      const [kind, taskId, slot, attempt, mono] = line.split(' ');
      if ((kind !== 'RUN' && kind !== 'END') || mono === undefined) continue;
      const key = `${taskId}/${slot}/${attempt}`;
      if (kind === 'RUN') {
        const span = { taskId: Number(taskId), slot: String(slot), attempt: Number(attempt), startMs: Number(mono), endMs: undefined, pid: c.child.pid };
        open.set(key, span);
        spans.push(span);
      } else {
        const span = open.get(key);
        if (span !== undefined) span.endMs = Number(mono);
      }
    }
  }
  return spans;
}

/**
 * Waits until every task of `ids` has an outcome for its slot (`last_status` set), or only successes with
 * `succeeded`; fails after `timeoutMs` naming `what`.
 */
export async function waitForOutcomes(
  store: Store,
  ids: readonly number[],
  options: { timeoutMs: number; intervalMs?: number; succeeded?: boolean; what: string },
): Promise<void> {
  await waitFor(
    async () => {
      const row = await store.db
        .selectFrom('tasks')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('id', 'in', [...ids])
        .$if(options.succeeded === true, (qb) => qb.where('last_status', '=', 'succeeded'))
        .$if(options.succeeded !== true, (qb) => qb.where('last_status', 'is not', null))
        .executeTakeFirstOrThrow();
      return Number(row.n) === ids.length;
    },
    { timeoutMs: options.timeoutMs, intervalMs: options.intervalMs ?? 200, message: options.what },
  );
}
