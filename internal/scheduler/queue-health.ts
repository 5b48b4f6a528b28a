import type { Clock } from '../platform/clock.js';
import type { QueueGaugeValues } from '../platform/metrics.js';
import { type Store, deadLetterCount, statsDue } from '../store/index.js';
import type { RedisState, StreamStats } from '../taskqueue/index.js';
import type { StreamQueue } from './queue-broker.js';
import type { SchedulerMode } from './task-source.js';

export type QueueStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface QueueHealthThresholds {
  degradedAgeMs: number;
  unhealthyAgeMs: number;
  degradedBacklog: number;
  unhealthyBacklog: number;
}

export interface QueueReport {
  mode: SchedulerMode;
  status: QueueStatus;
  /** Why the status is not healthy; empty when it is. */
  reasons: string[];
  /** Per priority stream, highest first; absent when streams are not in use or Redis is unreachable. */
  streams?: StreamStats[];
  totals?: { length: number; pending: number; lag: number; oldestPendingAgeMs: number | null };
  /** The database's view, which is what polling mode works from. */
  polling: { due: number; running: number; oldestDueAgeMs: number | null };
  deadLetters: number;
  /** Which Redis topology serves the queue, and the node serving it now; absent without Redis. */
  redis?: { topology: RedisState['topology']; node: string | null; ok: boolean };
}

/**
 * Builds `/queue` and the queue gauges: stream health in stream mode, the due-row view in polling mode, the
 * dead-letter count, and a status from configurable thresholds on the age and size of the waiting work.
 */
export class QueueInspector {
  constructor(
    private readonly deps: {
      store: Store;
      /** The stream queue, when Redis is configured. */
      queue: StreamQueue | undefined;
      clock: Clock;
      /** The mode this process's scheduler is in; without a scheduler, streams are used when Redis answers. */
      mode: () => SchedulerMode | undefined;
      streamsEnabled: boolean;
    },
    private readonly thresholds: QueueHealthThresholds,
  ) {}

  async inspect(): Promise<QueueReport> {
    const now = this.deps.clock.now();
    const [due, deadLetters] = await Promise.all([
      statsDue(this.deps.store, { now: new Date(now) }),
      deadLetterCount(this.deps.store),
    ]);
    const polling = {
      due: due.due,
      running: due.leased,
      oldestDueAgeMs: due.oldestDueAt === null ? null : Math.max(0, now - due.oldestDueAt.getTime()),
    };
    const { queue } = this.deps;
    const redisState = queue === undefined ? undefined : await queue.health.refresh();
    const redisUp = this.deps.streamsEnabled && redisState !== undefined ? redisState.ok : false;
    const mode = this.deps.mode() ?? (redisUp ? 'redis_streams' : 'db_polling');
    const reasons: string[] = [];
    let status: QueueStatus = 'healthy';
    const raise = (to: QueueStatus, reason: string) => {
      reasons.push(reason);
      if (to === 'unhealthy' || status === 'healthy') status = to;
    };

    let streams: StreamStats[] | undefined;
    let totals: QueueReport['totals'];
    if (redisUp && queue !== undefined) {
      streams = await queue.broker.stats();
      const ages = streams.map((s) => s.oldestPendingAgeMs).filter((a): a is number => a !== null);
      totals = {
        length: sum(streams.map((s) => s.length)),
        pending: sum(streams.map((s) => s.pending)),
        lag: sum(streams.map((s) => s.lag ?? 0)),
        oldestPendingAgeMs: ages.length === 0 ? null : Math.max(...ages),
      };
    } else if (this.deps.streamsEnabled && queue !== undefined) {
      raise('degraded', 'redis is unreachable: the scheduler polls the database');
    }

    const age = mode === 'redis_streams' ? totals?.oldestPendingAgeMs ?? null : polling.oldestDueAgeMs;
    const backlog = mode === 'redis_streams' ? totals?.lag ?? 0 : polling.due;
    const { degradedAgeMs, unhealthyAgeMs, degradedBacklog, unhealthyBacklog } = this.thresholds;
    if (age !== null && age >= unhealthyAgeMs) raise('unhealthy', `oldest waiting work is ${Math.round(age / 1000)} s old`);
    else if (age !== null && age >= degradedAgeMs) raise('degraded', `oldest waiting work is ${Math.round(age / 1000)} s old`);
    if (backlog >= unhealthyBacklog) raise('unhealthy', `${backlog} tasks are waiting`);
    else if (backlog >= degradedBacklog) raise('degraded', `${backlog} tasks are waiting`);
    if (mode === 'redis_streams' && streams !== undefined && backlog > 0 && streams.every((s) => s.consumers.length === 0)) {
      raise('degraded', 'entries are waiting and no consumer has ever read them');
    }
    const redis = redisState === undefined ? {} : { redis: { topology: redisState.topology, node: redisState.node, ok: redisState.ok } };
    return { mode, status, reasons, ...(streams === undefined ? {} : { streams, totals }), polling, deadLetters, ...redis };
  }

  /** The numbers the queue gauges export. */
  async gaugeValues(): Promise<QueueGaugeValues> {
    const report = await this.inspect();
    const oldestMs = report.mode === 'redis_streams' ? report.totals?.oldestPendingAgeMs : report.polling.oldestDueAgeMs;
    return {
      length: report.totals?.length ?? null,
      pending: report.totals?.pending ?? null,
      lag: report.totals?.lag ?? null,
      deadLetters: report.deadLetters,
      oldestAgeSeconds: oldestMs === null || oldestMs === undefined ? 0 : oldestMs / 1000,
    };
  }
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
