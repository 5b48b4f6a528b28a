import { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type RedisClient, describeTarget, openConnection } from './connection.js';
import { redactedMessage } from './topology.js';

/**
 * The connection each topology gets, read back from the client's options without connecting: what makes a Cluster
 * follow redirections and fail fast while a slot has no master, and a Sentinel client follow a promotion.
 */
describe('openConnection', () => {
  const opened: RedisClient[] = [];
  afterEach(() => {
    for (const c of opened.splice(0)) c.disconnect();
  });
  const open = (...args: Parameters<typeof openConnection>) => {
    const c = openConnection(...args);
    opened.push(c);
    return c;
  };

  it('builds a Cluster client that reads from masters, retries redirections and fails fast without a master', () => {
    const c = open({ topology: 'cluster', nodes: [{ host: '127.0.0.1', port: 7000 }], password: 'pw', tls: true });
    expect(c).toBeInstanceOf(Cluster);
    const options = (c as Cluster).options;
    expect(options).toMatchObject({ scaleReads: 'master', enableOfflineQueue: false, lazyConnect: true, maxRedirections: 16 });
    expect(options.retryDelayOnFailover).toBeGreaterThan(0);
    expect(options.retryDelayOnClusterDown).toBeGreaterThan(0);
    expect(options.retryDelayOnTryAgain).toBeGreaterThan(0);
    expect(options.redisOptions).toMatchObject({ password: 'pw', tls: {}, commandTimeout: 2000 });
    expect(c.status).toBe('wait');
  });

  it('builds a Sentinel client that asks for the master, follows promotions and reconnects on READONLY', () => {
    const c = open({
      topology: 'sentinel',
      sentinels: [{ host: '127.0.0.1', port: 26379 }],
      masterName: 'mymaster',
      sentinelPassword: 'spw',
      password: 'pw',
    });
    expect(c).toBeInstanceOf(Redis);
    const options = (c as Redis).options;
    expect(options).toMatchObject({ name: 'mymaster', role: 'master', sentinelPassword: 'spw', password: 'pw', failoverDetector: true, enableOfflineQueue: false });
    expect(options.reconnectOnError?.(new Error('READONLY You can\'t write against a read only replica.'))).toBe(true);
    expect(options.reconnectOnError?.(new Error('ERR something else'))).toBe(false);
  });

  it('keeps a single Redis as it was: no offline queue, one retry', () => {
    const c = open({ topology: 'standalone', host: '127.0.0.1', port: 6379 });
    expect((c as Redis).options).toMatchObject({ host: '127.0.0.1', port: 6379, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  });

  it('describes a target without its passwords, and masks them in error messages', () => {
    const target = {
      topology: 'sentinel' as const,
      sentinels: [{ host: 's1', port: 26379 }],
      masterName: 'm',
      sentinelPassword: 'Sentinel-pw',
      password: 'Redis-pw',
    };
    expect(describeTarget(target)).toBe('m@s1:26379');
    expect(redactedMessage(new Error('WRONGPASS Redis-pw and Sentinel-pw'), target)).toBe('WRONGPASS *** and ***');
  });
});
