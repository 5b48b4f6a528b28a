/**
 * host-permit: takes a place for one request to a host, under a concurrency limit and a rate, atomically, or says
 * how long to wait. Each limit is a sorted set of permits scored by their expiry (Redis' own clock, so processes
 * with different clocks agree): a request in flight holds a `run` permit until it is released, renewed, or expires
 * because its process died; every request started holds a `rate` permit for the rate's window (a sliding window).
 * Expired permits are dropped first. A request refused by one limit takes no permit of the other.
 *
 * KEYS[1]  the host's `run` set       KEYS[2]  the host's `rate` set
 * ARGV[1]  the permit's token         ARGV[2]  concurrency (0: no limit)   ARGV[3]  lease of a run permit, ms
 * ARGV[4]  rate count (0: no limit)   ARGV[5]  rate window, ms
 *
 * Returns {1, 0} when taken, {0, wait ms, 'concurrency'|'rate'} when refused.
 */
export const HOST_PERMIT_ACQUIRE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local token = ARGV[1]
local concurrency = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local count = tonumber(ARGV[4])
local window = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if concurrency > 0 and redis.call('ZCARD', KEYS[1]) >= concurrency then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, math.min(200, math.max(1, tonumber(first[2]) - now)), 'concurrency'}
end
if count > 0 and redis.call('ZCARD', KEYS[2]) >= count then
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  return {0, math.max(1, tonumber(first[2]) - now), 'rate'}
end
if concurrency > 0 then
  redis.call('ZADD', KEYS[1], now + lease, token)
  redis.call('PEXPIRE', KEYS[1], lease * 2)
end
if count > 0 then
  redis.call('ZADD', KEYS[2], now + window, token)
  redis.call('PEXPIRE', KEYS[2], window * 2)
end
return {1, 0}
`;

/**
 * host-permit-renew: extends a run permit still held by another lease.
 *
 * KEYS[1]  the host's `run` set
 * ARGV[1]  the permit's token         ARGV[2]  lease, ms
 *
 * Returns 1 when the permit was still held, 0 otherwise.
 */
export const HOST_PERMIT_RENEW_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
local added = redis.call('ZADD', KEYS[1], 'XX', 'CH', now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[1], lease * 2)
return added
`;
