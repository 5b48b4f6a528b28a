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
      // A scheduler knows more than a PING: a Redis that answers but refuses stream commands is not ok either.
      const schedulerView = deps.scheduler !== undefined && deps.enableRedisQueue ? deps.scheduler.redisState : undefined;
      const redisOk = deps.redis === undefined ? false : (schedulerView?.ok ?? (await redisAnswers(deps.redis)));
      const error = schedulerView?.error ?? `redis unreachable (${deps.redis?.status ?? 'not configured'})`;
      const redis: HealthReport['redis'] =
        deps.redis === undefined
          ? { configured: false, ok: false }
          : { configured: true, ok: redisOk, addr: deps.redisAddr, ...(redisOk ? {} : { error }) };
      const streamsWanted = deps.redis !== undefined && deps.enableRedisQueue;
      const mode = deps.scheduler?.mode ?? (streamsWanted && redisOk ? 'redis_streams' : 'db_polling');
      const reasons: string[] = [];
      if (!store.ok) reasons.push(`store unavailable: ${store.error ?? 'no answer'}`);
      if (streamsWanted && !redisOk) reasons.push(`${error}: publishing falls back to direct scheduling, and the scheduler polls`);
      return { status: reasons.length === 0 ? 'ok' : 'degraded', mode, store, redis, reasons };
    },
  };
}
