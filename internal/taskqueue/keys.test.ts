import { describe, expect, it } from 'vitest';
import { QueueKeys } from './keys.js';
import { READ_BY_PRIORITY_SCRIPT } from './read-by-priority.script.js';
import { slotOf } from './topology.js';
import { TRIM_STREAMS_SCRIPT } from './trim-streams.script.js';

/**
 * On a Redis Cluster every command, pipeline and script must touch keys of one hash slot. Every key Vigil uses comes
 * from QueueKeys, which puts the stream name in one hash tag; these tests pin that down for each kind of key,
 * including the API rate limiter's (rate-limiter-flexible appends `:<key>` to the prefix), and check that the
 * scripts reach Redis only through their KEYS.
 */
describe('QueueKeys on a Redis Cluster', () => {
  it.each(['vigil:task:queue', 'tenant-a', '{already:tagged}:queue', 'x'])('maps every key of %s to one slot', (stream) => {
    const keys = new QueueKeys(stream);
    const all = [
      ...keys.streams(),
      keys.probe(),
      // What rate-limiter-flexible's RateLimiterRedis reads and writes: `${keyPrefix}:${key}`, one key per script call.
      `${keys.rateLimitPrefix()}:token-1`,
      `${keys.rateLimitPrefix()}:203.0.113.7`,
    ];
    const slots = new Set(all.map(slotOf));
    expect(slots.size).toBe(1);
    expect([...slots][0]).toBe(slotOf(keys.tag));
  });

  it('gives different stream names different tags, so queues can be spread over masters', () => {
    const slots = new Set(['vigil:q:0', 'vigil:q:1', 'vigil:q:2', 'vigil:q:3'].map((s) => slotOf(new QueueKeys(s).probe())));
    expect(slots.size).toBeGreaterThan(1);
  });

  it.each([
    ['read-by-priority', READ_BY_PRIORITY_SCRIPT],
    ['trim-streams', TRIM_STREAMS_SCRIPT],
  ])('the %s script names keys only through KEYS', (_name, lua) => {
    // Every redis.call's key argument is KEYS[i] or a local bound to it: no key is built from a string inside.
    const calls = [...lua.matchAll(/redis\.call\('([A-Z]+)',\s*([^,)]+)/g)].map((m) => ({ command: m[1], first: (m[2] ?? '').trim() }));
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) {
      const keyArg = call.command === 'XREADGROUP' ? 'KEYS[i]' : call.first;
      // XINFO GROUPS / XINFO CONSUMERS name their subcommand first; the key follows (checked by the next pattern).
      expect(['KEYS[i]', 'key', "'GROUPS'", "'CONSUMERS'"]).toContain(keyArg);
    }
    for (const m of lua.matchAll(/redis\.call\('XINFO',\s*'[A-Z]+',\s*([^,)]+)/g)) expect(m[1]?.trim()).toBe('key');
    expect(lua).not.toMatch(/\.\.\s*':/);
  });
});
