import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Outcome label of `vigil_runs_total`: one value per way an attempt can end. */
export type RunOutcome = 'succeeded' | 'failed' | 'timed_out' | 'lease_lost';

/**
 * Every Prometheus metric Vigil exports, on a registry of its own (never the global one), so that tests and
 * several apps in one process do not collide. Labels are bounded: task types and fixed enums, never task ids.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly tasksCreated = new Counter({
    name: 'vigil_tasks_created_total',
    help: 'Tasks created through the API.',
    registers: [this.registry],
  });
  readonly runs = new Counter({
    name: 'vigil_runs_total',
    help: 'Finished run attempts by task type and outcome.',
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly runDuration = new Histogram({
    name: 'vigil_run_duration_seconds',
    help: 'Duration of run attempts.',
    labelNames: ['type'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly scheduleLateness = new Histogram({
    name: 'vigil_schedule_lateness_seconds',
    help: 'Actual start of a first attempt minus its slot.',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [this.registry],
  });
  readonly queueLength = new Gauge({
    name: 'vigil_queue_length',
    help: 'Entries in the task streams.',
    registers: [this.registry],
  });
  readonly queuePending = new Gauge({
    name: 'vigil_queue_pending',
    help: 'Stream entries delivered to a consumer and not yet acknowledged.',
    registers: [this.registry],
  });
  readonly queueLag = new Gauge({
    name: 'vigil_queue_lag',
    help: 'Stream entries not yet delivered to the consumer group.',
    registers: [this.registry],
  });
  readonly deadLetters = new Gauge({
    name: 'vigil_dead_letters',
    help: 'Dead letters currently kept.',
    registers: [this.registry],
  });
  readonly publishFallback = new Counter({
    name: 'vigil_publish_fallback_total',
    help: 'Creates whose stream publish failed and fell back to direct scheduling or polling.',
    registers: [this.registry],
  });
  readonly autoclaim = new Counter({
    name: 'vigil_autoclaim_total',
    help: 'Stalled stream entries reclaimed from another consumer.',
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: 'vigil_retries_total',
    help: 'Failed attempts scheduled for another try.',
    labelNames: ['type'] as const,
    registers: [this.registry],
  });
  readonly poolActive = new Gauge({
    name: 'vigil_worker_pool_active',
    help: 'Runs executing now in this process.',
    registers: [this.registry],
  });
  readonly poolSize = new Gauge({
    name: 'vigil_worker_pool_size',
    help: 'Concurrent runs this process allows.',
    registers: [this.registry],
  });
  readonly mode = new Gauge({
    name: 'vigil_mode',
    help: 'Scheduler mode: 1 for the active one.',
    labelNames: ['mode'] as const,
    registers: [this.registry],
  });
  readonly recovered = new Counter({
    name: 'vigil_recovered_runs_total',
    help: 'Runs whose executor died, found by recovery.',
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }
}
