import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './support/redis-server.js';
import { REDIS_ADDR } from './support/services.js';

/**
 * A Redis topology that cannot work stops cmd/api at start with a message that says why and never repeats a
 * password: two topologies at once (a config error, exit 2), and a Redis Cluster none of whose seed nodes answers
 * as a cluster (exit 1).
 */

const ROOT = resolve(import.meta.dirname, '..');
const PASSWORD = 'Sup3r-Secret-Redis-pw';
const SENTINEL_PASSWORD = 'Sentinel-Secret-pw';
const dir = mkdtempSync(join(tmpdir(), 'vigil-topology-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs cmd/api with `env` until it exits (at most 60 s); its exit code and everything it printed. */
function runApi(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cmd/api/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        APP_HTTP_ADDR: '127.0.0.1:0',
        SQLITE_PATH: join(dir, `vigil-${Math.random().toString(36).slice(2)}.db`),
        APP_LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cmd/api did not exit within 60 s; it printed:\n${output}`));
    }, 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, output });
    });
  });
}

describe.concurrent('Redis topology at start', () => {
  it('refuses two topologies at once, naming them, without the password', { timeout: 70_000 }, async () => {
    const { code, output } = await runApi({
      REDIS_ADDR: '127.0.0.1:6379',
      REDIS_SENTINELS: '127.0.0.1:26379',
      REDIS_PASSWORD: PASSWORD,
      REDIS_SENTINEL_PASSWORD: SENTINEL_PASSWORD,
    });
    expect(code).toBe(2);
    expect(output).toContain('REDIS_ADDR and REDIS_SENTINELS: these name 2 Redis topologies; set exactly one of');
    expect(output).not.toContain(PASSWORD);
    expect(output).not.toContain(SENTINEL_PASSWORD);
  });

  it('stops when no seed node of REDIS_CLUSTER_NODES answers, naming the variable, without the password', { timeout: 70_000 }, async () => {
    const port = await freePort();
    const { code, output } = await runApi({ REDIS_CLUSTER_NODES: `127.0.0.1:${port}`, REDIS_PASSWORD: PASSWORD });
    expect(code).toBe(1);
    expect(output).toContain(`REDIS_CLUSTER_NODES (127.0.0.1:${port}): no Redis Cluster answered at these seed nodes`);
    expect(output).not.toContain(PASSWORD);
    expect(output).not.toContain('api listening');
  });

  it('stops when the seed node is a Redis without cluster support', { timeout: 70_000 }, async () => {
    const { code, output } = await runApi({ REDIS_CLUSTER_NODES: REDIS_ADDR, REDIS_PASSWORD: PASSWORD });
    expect(code).toBe(1);
    expect(output).toContain(`REDIS_CLUSTER_NODES (${REDIS_ADDR}): no Redis Cluster answered at these seed nodes`);
    expect(output).not.toContain(PASSWORD);
  });
});
