import type { Logger } from 'pino';
import { type OutboundPolicy, deliverWebhook } from '../handlers/outbound/index.js';
import type { Clock } from '../platform/clock.js';
import { Ticker } from '../platform/ticker.js';
import {
  type ClaimedNotification,
  type RetryPolicy,
  type Store,
  notificationClaimDue,
  notificationRecordAttempt,
  retryDelay,
} from '../store/index.js';

export interface NotifierConfig {
  /** Tick in ms. */
  intervalMs: number;
  /** Deliveries in flight at once per process; they never use the worker pool. */
  concurrency: number;
  /** Attempts before a notification is given up as failed. */
  maxAttempts: number;
  retry: RetryPolicy;
  /** APP_WEBHOOK_SECRET: signs bodies with HMAC-SHA256 when set. */
  secret: string | undefined;
  /** Per-attempt timeout (ms). */
  timeoutMs: number;
}

/**
 * Delivers the webhook outbox: claims due notifications, POSTs them (signed), records every attempt, and retries
 * with backoff. It runs beside the worker pool, never in it, so a slow or dead receiver never holds up a run.
 */
export class Notifier {
  private readonly ticker: Ticker;
  private readonly controller = new AbortController();

  constructor(
    private readonly deps: { store: Store; policy: OutboundPolicy; clock: Clock; logger: Logger },
    private readonly config: NotifierConfig,
  ) {
    this.ticker = new Ticker({ name: 'notifier', intervalMs: config.intervalMs, tick: () => this.runOnce().then(() => undefined), logger: deps.logger });
  }

  start(): void {
    this.ticker.start();
  }

  async stop(): Promise<void> {
    this.controller.abort();
    await this.ticker.stop();
  }

  /** Delivers everything due now. Returns how many attempts were made. */
  async runOnce(): Promise<number> {
    let attempts = 0;
    for (;;) {
      if (this.controller.signal.aborted) return attempts;
      const claimed = await notificationClaimDue(this.deps.store, {
        now: new Date(this.deps.clock.now()),
        limit: this.config.concurrency,
        // Long enough for a delivery and its record; a process that dies mid-delivery frees it after this.
        leaseMs: this.config.timeoutMs * 2,
      });
      if (claimed.length === 0) return attempts;
      await Promise.all(claimed.map((n) => this.deliver(n)));
      attempts += claimed.length;
      if (claimed.length < this.config.concurrency) return attempts;
    }
  }

  private async deliver(notification: ClaimedNotification): Promise<void> {
    let delivery;
    try {
      delivery = await deliverWebhook({
        url: notification.url,
        body: JSON.parse(notification.body) as object,
        secret: this.config.secret,
        policy: this.deps.policy,
        signal: this.controller.signal,
        timeoutMs: this.config.timeoutMs,
      });
    } catch {
      // Only a shutdown aborts a delivery; its lease expires and another attempt follows.
      return;
    }
    const now = new Date(this.deps.clock.now());
    const exhausted = notification.attempt >= this.config.maxAttempts;
    await notificationRecordAttempt(this.deps.store, {
      notification,
      ok: delivery.ok,
      statusCode: delivery.status_code,
      error: delivery.error,
      durationMs: delivery.duration_ms,
      now,
      retryAt: delivery.ok || exhausted ? null : new Date(now.getTime() + retryDelay(notification.attempt, this.config.retry)),
    });
    if (!delivery.ok) {
      this.deps.logger.warn(
        { notificationId: notification.id, taskId: notification.taskId, attempt: notification.attempt, error: delivery.error, gaveUp: exhausted },
        'webhook delivery failed',
      );
    }
  }
}
