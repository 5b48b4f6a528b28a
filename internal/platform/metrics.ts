import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What the queue gauges show; null where the current mode has no such number (no streams when polling: 0). */
export interface QueueGaugeValues {
  length: number | null;
  pending: number | null;
  lag: number | null;
  deadLetters: number | null;
  oldestAgeSeconds: number | null;
}

/** Default metrics of prom-client that are gauges named like counters; see the Metrics constructor. */
export const MISNAMED_DEFAULT_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Outcome label of `vigil_runs_total`: one value per way an attempt can end. */
export type RunOutcome = 'succeeded' | 'failed' | 'timed_out' | 'lease_lost';

/**
 * Every Prometheus metric Vigil exports, on a registry of its own (never the global one), so that tests and
 * several apps in one process do not collide. Labels are bounded: task types and fixed enums, never task ids.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly tasksCreated = this.counter('vigil_tasks_created_total', 'Tasks created through the API.');
  readonly runs = this.counter(
    'vigil_runs_total',
    'Finished run attempts by task type and outcome.',
    ['type', 'outcome'],
  );
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
  /** Read at scrape time through the probe set with {@link setQueueProbe}; one probe serves all four gauges. */
  readonly queueLength = this.queueGauge('vigil_queue_length', 'Entries in the task streams.', 'length');
  readonly queuePending = this.queueGauge(
    'vigil_queue_pending',
    'Stream entries delivered to a consumer and not yet acknowledged.',
    'pending',
  );
  readonly queueLag = this.queueGauge('vigil_queue_lag', 'Stream entries not yet delivered to the consumer group.', 'lag');
  readonly deadLetters = this.queueGauge('vigil_dead_letters', 'Dead letters currently kept.', 'deadLetters');
  readonly queueOldestAge = this.queueGauge(
    'vigil_queue_oldest_age_seconds',
    'Age of the oldest waiting work: the oldest pending stream entry, or the oldest due row when polling.',
    'oldestAgeSeconds',
  );
  readonly publishFallback = this.counter(
    'vigil_publish_fallback_total',
    'Creates whose stream publish failed and fell back to direct scheduling or polling.',
  );
  readonly autoclaim = this.counter('vigil_autoclaim_total', 'Stalled stream entries reclaimed from another consumer.');
  readonly retries = this.counter('vigil_retries_total', 'Failed attempts scheduled for another try.', ['type']);
  readonly poolActive = this.gauge('vigil_worker_pool_active', 'Runs holding a worker now in this process: starting or running their handlers.');
  readonly poolRecording = this.gauge(
    'vigil_worker_pool_recording',
    'Runs past their handlers whose outcomes are being written, without a worker, in this process.',
  );
  readonly poolSize = this.gauge('vigil_worker_pool_size', 'Concurrent runs this process allows.');
  readonly mode = this.gauge('vigil_mode', 'Scheduler mode: 1 for the active one.', ['mode']);
  readonly recovered = this.counter('vigil_recovered_runs_total', 'Runs whose executor died, found by recovery.');
  readonly notificationAttempts = this.counter(
    'vigil_notification_attempts_total',
    'Notification delivery attempts, by channel kind and outcome (delivered, retry, failed: given up).',
    ['kind', 'outcome'],
  );

  readonly hostHeldBack = this.counter(
    'vigil_host_held_back_total',
    'Runs (kind=run) and notification deliveries (kind=delivery) held back because their target host had its fill of requests in flight or started (APP_HOST_CONCURRENCY, APP_HOST_RATE); one per slot or delivery held. Labelled by host, so its series number the hosts checked.',
    ['host', 'kind'],
  );

  private counter<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  private queueProbe: (() => Promise<QueueGaugeValues>) | undefined;
  private probeInFlight: Promise<QueueGaugeValues | undefined> | undefined;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      // prom-client names three gauges `…_total`, which Prometheus reserves for counters (`promtool check metrics`
      // flags them). Each is the sum of a labelled gauge it also exports, so nothing is lost:
      // `sum(nodejs_active_handles)` is what `nodejs_active_handles_total` was, and likewise for requests and
      // resources.
      for (const name of MISNAMED_DEFAULT_GAUGES) this.registry.removeSingleMetric(name);
    }
  }

  /**
   * Gives every labelled counter a sample of 0 for the label values known at start (the registered task types, the
   * channel kinds), so that `rate()` and absence alerts see a series before its first event.
   */
  initKnownLabels(known: { taskTypes: readonly string[]; channelKinds: readonly string[] }): void {
    const outcomes: RunOutcome[] = ['succeeded', 'failed', 'timed_out', 'lease_lost'];
    for (const type of known.taskTypes) {
      this.retries.inc({ type }, 0);
      for (const outcome of outcomes) this.runs.inc({ type, outcome }, 0);
    }
    for (const kind of new Set(['webhook', ...known.channelKinds])) {
      for (const outcome of ['delivered', 'retry', 'failed']) this.notificationAttempts.inc({ kind, outcome }, 0);
    }
  }

  /** Sets how the queue gauges are read; without a probe they keep whatever was last set. */
  setQueueProbe(probe: () => Promise<QueueGaugeValues>): void {
    this.queueProbe = probe;
  }

  private queueGauge(name: string, help: string, field: keyof QueueGaugeValues): Gauge {
    const metrics = this;
    return new Gauge({
      name,
      help,
      registers: [this.registry],
      async collect() {
        const values = await metrics.probeQueue();
        // A failed probe keeps the last values; a number the mode does not have reads as 0 rather than going stale.
        if (values !== undefined) this.set(values[field] ?? 0);
      },
    });
  }

  /** One probe per scrape, shared by the four gauges; a failing probe leaves them unchanged. */
  private probeQueue(): Promise<QueueGaugeValues | undefined> {
    if (this.queueProbe === undefined) return Promise.resolve(undefined);
    this.probeInFlight ??= this.queueProbe()
      .catch(() => undefined)
      .finally(() => {
        this.probeInFlight = undefined;
      });
    return this.probeInFlight;
  }
}
