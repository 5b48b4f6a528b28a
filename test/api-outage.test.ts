import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { createConnection } from 'mysql2/promise';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createApiApp,
  errorBodySchema,
  healthReportJsonSchema,
  pollingDispatcher,
  storeHealthSource,
} from '../internal/api/index.js';
import { HandlerRegistry, noopType } from '../internal/handlers/index.js';
import { systemClock } from '../internal/platform/clock.js';
import { createLogger } from '../internal/platform/logger.js';
import { Metrics } from '../internal/platform/metrics.js';
import { type Store, StoreMigrator, openStore } from '../internal/store/index.js';
import { ADMIN_DSN, type TestDatabase, createTestDatabase, uniqueName, waitFor } from './support/services.js';
import { type TcpProxy, startTcpProxy } from './support/tcp-proxy.js';
import { pollingQueueSource } from './support/queue.js';
import { testChannelSender } from './support/channel-sender.js';

/**
 * G6 at the API: MySQL goes away (a TCP proxy between the API and the server is cut) and comes back. Calls that
 * need the store answer 503 `store_unavailable` quickly, the probes say so, nothing crashes, and service resumes
 * without a restart. The store is reached as a user with a password, so that the log check below has a real
 * secret to look for.
 */

const API_TOKEN = `tok-${randomBytes(12).toString('hex')}`;
const DB_PASSWORD = `pw-${randomBytes(12).toString('hex')}`;
const auth = { Authorization: `Bearer ${API_TOKEN}` };
const body = { name: 'outage check', type: 'noop', schedule: { every: 60 } };

describe('API during a MySQL outage', () => {
  let database: TestDatabase;
  let user: string;
  let dsn: string;
  let proxy: TcpProxy;
  let store: Store;
  let server: Server;
  let api: ReturnType<typeof request>;
  const logLines: string[] = [];
  const processErrors: unknown[] = [];
  const recordProcessError = (err: unknown) => processErrors.push(err);

  beforeAll(async () => {
    process.on('uncaughtException', recordProcessError);
    process.on('unhandledRejection', recordProcessError);

    database = await createTestDatabase('api_outage');
    user = `vigil_u_${uniqueName('api').slice(-8)}`;
    await adminQuery(`CREATE USER '${user}'@'%' IDENTIFIED BY '${DB_PASSWORD}'`);
    await adminQuery(`GRANT ALL PRIVILEGES ON \`${database.name}\`.* TO '${user}'@'%'`);

    const target = new URL(ADMIN_DSN);
    proxy = await startTcpProxy(target.hostname, target.port === '' ? 3306 : Number(target.port));
    dsn = `mysql://${user}:${DB_PASSWORD}@127.0.0.1:${proxy.port}/${database.name}`;
    store = openStore({ mysqlDsn: dsn, connectTimeoutMs: 1000, poolSize: 4 });
    await new StoreMigrator(store).up();

    const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } });
    const app = createApiApp({
      store,
      queue: pollingQueueSource(store, systemClock),
      registry: new HandlerRegistry().register(noopType),
      dispatcher: pollingDispatcher,
      health: storeHealthSource(store, { pingTimeoutMs: 1500 }),
      logger,
      metrics: new Metrics({ defaultMetrics: false }),
      clock: systemClock,
      channelSender: testChannelSender(),
      apiTokens: [{ name: 'outage', token: API_TOKEN, scope: 'write' }],
    });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    api = request(server);
  });

  afterAll(async () => {
    process.off('uncaughtException', recordProcessError);
    process.off('unhandledRejection', recordProcessError);
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await store?.close();
    await proxy?.close();
    if (user !== undefined) await adminQuery(`DROP USER IF EXISTS '${user}'@'%'`);
    await database?.drop();
  });

  it('serves normally before the outage', async () => {
    expect((await api.post('/tasks').set(auth).send(body)).status).toBe(201);
    expect((await api.get('/tasks').set(auth)).status).toBe(200);
    expect((await api.get('/readyz')).status).toBe(200);
    const health = healthReportJsonSchema.parse((await api.get('/healthz')).body);
    expect(health).toMatchObject({ status: 'ok', store: { driver: 'mysql', ok: true } });
  });

  it('answers 503 store_unavailable quickly while MySQL is unreachable, and keeps running', async () => {
    await proxy.block();
    const calls = [
      () => api.post('/tasks').set(auth).send(body),
      () => api.get('/tasks').set(auth),
      () => api.get('/tasks/1').set(auth),
      () => api.patch('/tasks/1').set(auth).send({ status: 'paused' }),
    ];
    for (const call of calls) {
      const started = Date.now();
      const res = await call();
      expect(Date.now() - started).toBeLessThan(5000);
      expect(res.status, JSON.stringify(res.body)).toBe(503);
      expect(errorBodySchema.parse(res.body).error.code).toBe('store_unavailable');
      expect(res.headers['retry-after']).toBe('1');
      // Neither the driver's text nor the DSN reaches the client.
      expect(JSON.stringify(res.body)).not.toContain(DB_PASSWORD);
      expect(JSON.stringify(res.body)).not.toMatch(/ECONN|127\.0\.0\.1|vigil_t_/);
    }

    const ready = await api.get('/readyz');
    expect(ready.status).toBe(503);
    expect(errorBodySchema.parse(ready.body).error.code).toBe('store_unavailable');

    const started = Date.now();
    const healthRes = await api.get('/healthz');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(healthRes.status).toBe(200);
    const health = healthReportJsonSchema.parse(healthRes.body);
    expect(health.status).toBe('degraded');
    expect(health.store).toMatchObject({ driver: 'mysql', ok: false });
    expect(health.store.error).toEqual(expect.any(String));
    expect(health.reasons.length).toBeGreaterThan(0);
    expect(JSON.stringify(health)).not.toContain(DB_PASSWORD);

    // Still the same, living process: validation needs no store and still works.
    const invalid = await api.post('/tasks').set(auth).send({ ...body, priority: 9 });
    expect(invalid.status).toBe(400);
    expect(processErrors).toEqual([]);
  });

  it('recovers on its own when MySQL is reachable again', async () => {
    proxy.unblock();
    await waitFor(async () => (await api.post('/tasks').set(auth).send(body)).status === 201, {
      timeoutMs: 15_000,
      intervalMs: 200,
      message: 'POST /tasks to succeed after the outage',
    });
    const list = await api.get('/tasks').set(auth);
    expect(list.status).toBe(200);
    expect(list.body.items.length).toBeGreaterThanOrEqual(2);
    expect((await api.get('/readyz')).status).toBe(200);
    const health = healthReportJsonSchema.parse((await api.get('/healthz')).body);
    expect(health).toMatchObject({ status: 'ok', store: { ok: true }, reasons: [] });
    expect(processErrors).toEqual([]);
  });

  it('never logs the API token or the database password', async () => {
    // A near miss on the token, so that a logged Authorization header would contain the real token.
    expect((await api.get('/tasks').set('Authorization', `Bearer ${API_TOKEN}x`)).status).toBe(401);
    expect((await api.get('/tasks').set(auth)).status).toBe(200);

    // The capture is real: request lines, including the outage's failures with their error, were written.
    expect(logLines.some((line) => line.includes('"statusCode":503') && line.includes('"err"'))).toBe(true);
    expect(logLines.some((line) => line.includes('"statusCode":401'))).toBe(true);
    for (const line of logLines) {
      expect(line).not.toContain(API_TOKEN);
      expect(line).not.toContain(DB_PASSWORD);
      expect(line).not.toContain(dsn);
      expect(line.toLowerCase()).not.toContain('authorization');
    }
  });
});

async function adminQuery(statement: string): Promise<void> {
  const conn = await createConnection({ uri: ADMIN_DSN });
  try {
    await conn.query(statement);
  } finally {
    await conn.end();
  }
}
