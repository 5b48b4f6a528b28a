import { Router } from 'express';
import { statsByType } from '../../store/index.js';
import type { ApiDeps } from '../deps.js';
import type { QueueJson, StatsJson } from '../ops-schemas.js';

/** `GET /stats` and `GET /queue`: what an operator looks at first. */
export function opsRouter(deps: Pick<ApiDeps, 'store' | 'queue' | 'clock'>): Router {
  const router = Router();

  router.get('/stats', async (_req, res) => {
    const byType = await statsByType(deps.store, { now: new Date(deps.clock.now()) });
    const zero = { created: 0, pending: 0, running: 0, paused: 0, up: 0, down: 0, succeeded: 0, failed: 0, timed_out: 0 };
    const body: StatsJson = { totals: { ...zero }, by_type: {} };
    for (const [type, c] of [...byType.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const counts = {
        created: c.tasks,
        pending: c.pending,
        running: c.leased,
        paused: c.paused,
        up: c.up,
        down: c.down,
        succeeded: c.succeeded,
        failed: c.failed,
        timed_out: c.timedOut,
      };
      body.by_type[type] = counts;
      for (const key of Object.keys(zero) as (keyof typeof zero)[]) body.totals[key] += counts[key];
    }
    res.json(body);
  });

  router.get('/queue', async (_req, res) => {
    const report = await deps.queue.inspect();
    const body: QueueJson = {
      mode: report.mode,
      status: report.status,
      reasons: report.reasons,
      ...(report.streams === undefined
        ? {}
        : {
            streams: report.streams.map((s) => ({
              stream: s.stream,
              priority: s.priority,
              length: s.length,
              groups: s.groups,
              pending: s.pending,
              lag: s.lag,
              consumers: s.consumers.map((c) => ({ name: c.name, pending: c.pending, idle_ms: c.idleMs })),
              oldest_pending_age_ms: s.oldestPendingAgeMs,
              foreign_groups: s.foreignGroups.map((g) => ({
                name: g.name,
                consumers: g.consumers,
                pending: g.pending,
                lag: g.lag,
                idle_ms: g.idleMs,
                holds_trim: g.holdsTrim,
                holds_from_id: g.holdsFromId,
                holds_from_age_ms: g.holdsFromAgeMs,
              })),
            })),
          }),
      ...(report.totals === undefined
        ? {}
        : {
            totals: {
              length: report.totals.length,
              pending: report.totals.pending,
              lag: report.totals.lag,
              oldest_pending_age_ms: report.totals.oldestPendingAgeMs,
            },
          }),
      polling: {
        due: report.polling.due,
        running: report.polling.running,
        oldest_due_age_ms: report.polling.oldestDueAgeMs,
      },
      dead_letters: report.deadLetters,
      ...(report.redis === undefined ? {} : { redis: { topology: report.redis.topology, node: report.redis.node, ok: report.redis.ok } }),
    };
    res.json(body);
  });

  return router;
}
