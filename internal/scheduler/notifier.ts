import type { Logger } from 'pino';
import type { AlertBody, ChannelSender, ChannelTarget, Delivery } from '../notify/index.js';
import { type BackoffPolicy, backoffDelay } from '../platform/backoff.js';
import type { Clock } from '../platform/clock.js';
import type { Metrics } from '../platform/metrics.js';
import { TickingService } from '../platform/service.js';
import { hostOf } from '../handlers/index.js';
import { type ClaimedNotification, type Store, notificationClaimDue, notificationPostpone, notificationRecordAttempt } from '../store/index.js';
import type { HostGate, HostPermit } from './host-gate.js';
import { heldBackWait } from './run-executor.js';

export interface NotifierDeps {
  store: Store;
  /** Formats and delivers to each channel (or a task's own webhook), through the outbound policy. */
  sender: ChannelSender;
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  /** Politeness per host: a delivery waits while its receiver's host has its fill of requests. */
  hostGate?: HostGate | undefined;
}

/** Deliveries in flight at once per process, by default. */
export const NOTIFIER_CONCURRENCY = 10;
/** How long one delivery attempt may take, by default (ms). */
export const NOTIFIER_TIMEOUT_MS = 10_000;
/** The longest wait between two delivery attempts (ms). */
export const NOTIFIER_MAX_RETRY_DELAY_MS = 600_000;

export interface NotifierConfig {
  /** Tick in ms. */
  intervalMs: number;
  /** Deliveries in flight at once per process; they never use the worker pool. */
  concurrency: number;
  /** Attempts before a notification is given up as failed (APP_WEBHOOK_MAX_ATTEMPTS, default 8). */
  maxAttempts: number;
  /** Backoff between attempts (APP_WEBHOOK_RETRY_BASE_DELAY, default 5s, doubling up to 10 min). */
  retry: BackoffPolicy;
  /** Per-attempt timeout (ms); the sender's own, repeated here to size the claim's lease. */
  timeoutMs: number;
}

/**
 * Delivers the notification outbox: claims due notifications, sends each through its channel (or the task's own
 * signed webhook), records every attempt, and retries with backoff. It runs beside the worker pool, never in it,
 * so a slow or dead receiver never holds up a run.
 */
export class Notifier extends TickingService {
  private deliveries = new AbortController();
  /** Deliveries in flight; each tick claims only what room is left, so one slow receiver holds up no other. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly deps: NotifierDeps,
    private readonly config: NotifierConfig,
  ) {
    super('notifier', deps.logger, { intervalMs: config.intervalMs });
  }

  protected override async onStart(): Promise<void> {
    this.deliveries = new AbortController();
  }

  /** Once ticking has stopped: aborts deliveries in flight (their leases expire and another attempt follows). */
  protected override async onStop(): Promise<void> {
    this.deliveries.abort();
    await Promise.all(this.inFlight);
  }

  /** Starts deliveries for everything due now, up to the free concurrency. Returns how many were started. */
  async runOnce(): Promise<number> {
    let started = 0;
    while (!this.deliveries.signal.aborted) {
      const room = this.config.concurrency - this.inFlight.size;
      if (room <= 0) break;
      const claimed = await notificationClaimDue(this.deps.store, {
        now: new Date(this.deps.clock.now()),
        limit: room,
        // Long enough for a delivery and its record; a process that dies mid-delivery frees it after this.
        leaseMs: this.config.timeoutMs * 2,
      });
      for (const notification of claimed) {
        const delivery = this.deliver(notification)
          .catch((err: unknown) => this.deps.logger.warn({ err, notificationId: notification.id }, 'recording a delivery failed'))
          .finally(() => this.inFlight.delete(delivery));
        this.inFlight.add(delivery);
      }
      started += claimed.length;
      if (claimed.length < room) break;
    }
    return started;
  }

  /** Resolves when every delivery started so far has been recorded (for tests). */
  async idle(): Promise<void> {
    await Promise.all(this.inFlight);
  }

  /**
   * Takes a place for the delivery at its receiver's host; when the host has its fill, gives the notification back
   * until there is room (no attempt counted) and resolves undefined.
   */
  private async admit(notification: ClaimedNotification): Promise<HostPermit | undefined> {
    const gate = this.deps.hostGate;
    const host = deliveryHost(notification);
    if (gate === undefined || host === undefined) return { release: () => Promise.resolve() };
    const admission = await gate.admit({ host });
    if (admission.ok) return admission.permit;
    this.deps.metrics.hostHeldBack.inc({ host, kind: 'delivery' });
    const wait = heldBackWait(admission.retryInMs, 0);
    await notificationPostpone(this.deps.store, { id: notification.id, until: new Date(this.deps.clock.now() + wait) });
    return undefined;
  }

  private async deliver(notification: ClaimedNotification): Promise<void> {
    let delivery: Delivery;
    // A channel deleted since the notification was queued has nowhere to go: that is final, not worth retrying.
    const gone = notification.channelId !== null && notification.channel === null;
    if (gone) {
      delivery = { ok: false, status_code: null, response: null, error: `channel ${notification.channelId} no longer exists`, duration_ms: 0 };
    } else {
      const permit = await this.admit(notification);
      if (permit === undefined) return;
      try {
        delivery = await this.deps.sender.send(targetOf(notification), JSON.parse(notification.body) as AlertBody, this.deliveries.signal);
      } catch {
        // Only a shutdown aborts a delivery; its lease expires and another attempt follows.
        return;
      } finally {
        await permit.release();
      }
    }
    const now = new Date(this.deps.clock.now());
    const exhausted = gone || notification.attempt >= this.config.maxAttempts;
    const recorded = await notificationRecordAttempt(this.deps.store, {
      notification,
      ok: delivery.ok,
      statusCode: delivery.status_code,
      error: delivery.error,
      durationMs: delivery.duration_ms,
      now,
      retryAt: delivery.ok || exhausted ? null : new Date(now.getTime() + backoffDelay(notification.attempt, this.config.retry)),
    });
    const kind = notification.channel?.kind ?? (notification.channelId === null ? 'webhook' : 'deleted');
    if (!recorded) {
      // Recorded too late: the lease expired and another process took the notification; its record stands.
      this.deps.logger.warn({ notificationId: notification.id, attempt: notification.attempt }, 'delivery lease lost before its attempt was recorded');
      return;
    }
    this.deps.metrics.notificationAttempts.inc({ kind, outcome: delivery.ok ? 'delivered' : exhausted ? 'failed' : 'retry' });
    if (!delivery.ok) {
      // The sender has scrubbed the channel's secrets from the error; the channel is named by id and kind only.
      this.deps.logger.warn(
        {
          notificationId: notification.id,
          taskId: notification.taskId,
          channelId: notification.channelId,
          kind,
          attempt: notification.attempt,
          error: delivery.error,
          gaveUp: exhausted,
        },
        'notification delivery failed',
      );
    }
  }
}

/**
 * The host a delivery goes to, for politeness: the task's own webhook URL, or the channel's receiver (its URL,
 * server, Bot API base or SMTP host, with the kind's default when the config leaves it out).
 */
export function deliveryHost(notification: ClaimedNotification): string | undefined {
  if (notification.url !== '') return hostOf(notification.url);
  const channel = notification.channel;
  if (channel === null) return undefined;
  const config = channel.config;
  for (const field of ['url', 'webhook_url', 'server', 'api_base']) {
    const value = config[field];
    if (typeof value === 'string') return hostOf(value);
  }
  if (typeof config.host === 'string') return config.host.toLowerCase();
  if (channel.kind === 'ntfy') return 'ntfy.sh';
  if (channel.kind === 'telegram') return 'api.telegram.org';
  return undefined;
}

/** The channel a claimed notification goes to: its own, or the task's `webhook_url` as a webhook channel. */
function targetOf(notification: ClaimedNotification): ChannelTarget {
  if (notification.channel !== null) return notification.channel;
  return { id: null, name: 'webhook_url', kind: 'webhook', config: { url: notification.url } };
}
