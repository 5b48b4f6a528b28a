import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../internal/app/index.js';
import { type VigilChild, childEnv, spawnVigil } from './support/children.js';
import { type TestStore, createTestStore, uniqueName } from './support/services.js';
import { startTestApp } from './support/test-app.js';

/**
 * The API's rate limit (APP_RATE_LIMIT, APP_RATE_LIMIT_BURST): per token, or per address without tokens; shared
 * through Redis between API processes; per process without Redis, and while Redis is unreachable.
 *
 * The limits are chosen so that a loaded machine cannot spread a burst over two windows: 10 requests per 10 s window
 * (`1/s` with a burst of 10), and bursts sent all at once.
 */

let testStore: TestStore;
const apps: App[] = [];
const children: VigilChild[] = [];

beforeAll(async () => {
  testStore = await createTestStore('sqlite', 'rate_limit');
});

afterAll(async () => {
  for (const child of children) {
    child.kill('SIGTERM');
    await child.exited;
  }
  for (const app of apps) await app.stop();
  await testStore?.cleanup();
});

async function start(env: Record<string, string>, stream?: string, redisAddr?: string): Promise<string> {
  const { app, url } = await startTestApp({
    storeEnv: testStore.env,
    ...(stream === undefined ? {} : { stream }),
    ...(redisAddr === undefined ? {} : { redisAddr }),
    env: { APP_RUN_SCHEDULER: 'false', APP_RATE_LIMIT: '1/s', APP_RATE_LIMIT_BURST: '10', ...env },
  });
  apps.push(app);
  return url;
}

/** `n` GET /stats at once; the statuses, and the first 429 if any. */
async function burst(url: string, n: number, token?: string): Promise<{ statuses: number[]; limited?: Response }> {
  const headers = token === undefined ? undefined : { authorization: `Bearer ${token}` };
  const responses = await Promise.all(Array.from({ length: n }, () => fetch(`${url}/stats`, { headers })));
  return { statuses: responses.map((r) => r.status), limited: responses.find((r) => r.status === 429) };
}

const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

describe('rate limit', () => {
  it('answers 429 with Retry-After and the JSON error past the burst, and never limits the probes', async () => {
    const url = await start({});
    const { statuses, limited } = await burst(url, 15);
    expect(count(statuses, 200)).toBe(10);
    expect(count(statuses, 429)).toBe(5);
    expect(limited).toBeDefined();
    const retryAfter = Number(limited?.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(10);
    expect(limited?.headers.get('ratelimit-limit')).toBe('10');
    expect(limited?.headers.get('ratelimit-remaining')).toBe('0');
    expect(await limited?.json()).toEqual({ error: { code: 'rate_limited', message: expect.stringMatching(/^too many requests; try again in \d+ s$/) } });

    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const probes = await Promise.all(Array.from({ length: 15 }, () => fetch(`${url}${path}`)));
      expect(probes.map((r) => r.status).every((s) => s === 200), path).toBe(true);
    }
  });

  it('counts each token on its own', async () => {
    const url = await start({ APP_API_TOKENS: 'alpha:alpha-S3cret:write,beta:beta-S3cret:read' });
    expect(count((await burst(url, 12, 'alpha-S3cret')).statuses, 429)).toBe(2);
    expect(count((await burst(url, 10, 'beta-S3cret')).statuses, 200)).toBe(10);
  });

  it('is shared by two API processes through Redis', async () => {
    const stream = uniqueName('rate_limit');
    const [first, second] = await Promise.all([apiProcess(stream), apiProcess(stream)]);
    const a = await burst(first, 6);
    const b = await burst(second, 6);
    // One budget of 10 across both: whichever process a request reached.
    expect(count([...a.statuses, ...b.statuses], 200)).toBe(10);
    expect(count(b.statuses, 429)).toBe(2);
    // A process with another stream name (another deployment on the same Redis) has its own budget.
    const other = await start({}, uniqueName('rate_limit_other'));
    expect(count((await burst(other, 10)).statuses, 200)).toBe(10);
  });

  it('falls back to counting in the process while Redis is unreachable: never a 500, never a wait', async () => {
    const url = await start({}, uniqueName('rate_limit_down'), `127.0.0.1:${await closedPort()}`);
    const started = Date.now();
    const { statuses } = await burst(url, 15);
    expect(count(statuses, 200)).toBe(10);
    expect(count(statuses, 429)).toBe(5);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('is off with APP_RATE_LIMIT=off', async () => {
    const url = await start({ APP_RATE_LIMIT: 'off' });
    const { statuses, limited } = await burst(url, 30);
    expect(count(statuses, 200)).toBe(30);
    expect(limited).toBeUndefined();
  });
});

/** A real API process (no scheduler) on a free port, limited like the in-process ones. */
async function apiProcess(stream: string): Promise<string> {
  const child = spawnVigil(
    'api',
    childEnv(testStore.env, stream, { APP_RUN_SCHEDULER: 'false', APP_RATE_LIMIT: '1/s', APP_RATE_LIMIT_BURST: '10', APP_LOG_LEVEL: 'warn' }),
  );
  children.push(child);
  const ready = await child.waitForLine(/^READY \d+$/, 30_000);
  return `http://127.0.0.1:${ready.split(' ')[1]}`;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
