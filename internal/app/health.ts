import { type HealthReport, type HealthSource, checkStore } from '../api/ports.js';
import type { Scheduler } from '../scheduler/index.js';
import type { Store } from '../store/index.js';
import { type Redis, redisAnswers } from '../taskqueue/index.js';

/**
 * `/healthz` for a full process: the store's answer, Redis's state and the scheduler's mode. `degraded` (still
 * 200) names every reason: the store is down, or stream mode is wanted and Redis is not reachable.
 */
export function processHealthSource(deps: {
  store: Store;
  redis: Redis | undefined;
  redisAddr: string | undefined;
  enableRedisQueue: boolean;
  scheduler: Scheduler | undefined;
}): HealthSource {
  return {
    async check(): Promise<HealthReport> {
      const store = await checkStore(deps.store, 2000);
      const redisOk = deps.redis === undefined ? false : await redisAnswers(deps.redis);
      const redis: HealthReport['redis'] =
        deps.redis === undefined
          ? { configured: false, ok: false }
          : { configured: true, ok: redisOk, addr: deps.redisAddr, ...(redisOk ? {} : { error: `redis unreachable (${deps.redis.status})` }) };
      const streamsWanted = deps.redis !== undefined && deps.enableRedisQueue;
      const mode = deps.scheduler?.mode ?? (streamsWanted && redisOk ? 'redis_streams' : 'db_polling');
      const reasons: string[] = [];
      if (!store.ok) reasons.push(`store unavailable: ${store.error ?? 'no answer'}`);
      if (streamsWanted && !redisOk) reasons.push('redis unreachable: publishing falls back to direct scheduling and polling');
      return { status: reasons.length === 0 ? 'ok' : 'degraded', mode, store, redis, reasons };
    },
  };
}
