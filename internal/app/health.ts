import { type HealthReport, type HealthSource, checkStore } from '../api/ports.js';
import type { QueueHealth, SchedulerMode } from '../scheduler/index.js';
import type { Store } from '../store/index.js';

/**
 * `/healthz` for a full process: the store's answer, Redis's state (from the process's one `RedisHealth`) and the
 * scheduler's mode. `degraded` (still 200) names every reason: the store is down, or stream mode is wanted and
 * Redis is not up.
 */
export function processHealthSource(deps: {
  store: Store;
  /** The queue's health, when Redis is configured. */
  redis: QueueHealth | undefined;
  enableRedisQueue: boolean;
  /** The mode of this process's scheduler, when it runs one. */
  mode: () => SchedulerMode | undefined;
}): HealthSource {
  return {
    async check(): Promise<HealthReport> {
      const [store, redisState] = await Promise.all([checkStore(deps.store, 2000), deps.redis?.refresh()]);
      const redis: HealthReport['redis'] =
        redisState === undefined ? { configured: false, ok: false } : { configured: true, ...redisState };
      const streamsWanted = redisState !== undefined && deps.enableRedisQueue;
      const mode = deps.mode() ?? (streamsWanted && redis.ok ? 'redis_streams' : 'db_polling');
      const reasons: string[] = [];
      if (!store.ok) reasons.push(`store unavailable: ${store.error ?? 'no answer'}`);
      if (streamsWanted && !redis.ok) {
        reasons.push(`${redis.error ?? 'redis is down'}: publishing falls back to direct scheduling, and the scheduler polls`);
      }
      return { status: reasons.length === 0 ? 'ok' : 'degraded', mode, store, redis, reasons };
    },
  };
}
