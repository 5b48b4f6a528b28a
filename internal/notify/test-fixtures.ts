import { afterAll } from 'vitest';
import { OutboundPolicy } from '../handlers/outbound/index.js';
import { ChannelSender } from './channel-sender.js';
import type { AlertBody } from './message.js';

/**
 * Bodies and a sender for the tests of this folder (test-only: nothing in production imports this file). The
 * bodies are what the outbox stores for each event, shaped like real `http` outputs.
 */

export const AT = '2031-05-06T07:08:09.000Z';
export const PUBLIC_URL = 'https://vigil.example.com';

export function downBody(overrides: Partial<AlertBody> = {}): AlertBody {
  return {
    task_id: 42,
    name: 'shop <api>',
    event: 'down',
    target: 'https://shop.example/api/health',
    output: {
      up: false,
      reason: 'status 500 not in 200-399',
      status_code: 500,
      latency_ms: 87,
      alert: { state: 'down', streak: 3, notification: 'sent', down_since: AT },
    },
    timestamp: AT,
    ...overrides,
  };
}

export function newItemsBody(count = 3): AlertBody {
  const first = Array.from({ length: Math.min(count, 20) }, (_, i) => ({
    id: `sku-${i + 1}`,
    title: i === 0 ? 'Lamp <b>&</b> "shade"' : `Lamp ${i + 1}`,
    url: `https://shop.example/items/${i + 1}`,
    price: 10 + i,
    in_stock: true,
  }));
  return {
    task_id: 42,
    name: 'shop feed',
    event: 'new_items',
    target: 'https://shop.example/api/search?q=lamp',
    output: { up: true, status_code: 200, latency_ms: 40, new_items: { count, first } },
    timestamp: AT,
  };
}

export function upBody(): AlertBody {
  return {
    task_id: 42,
    name: 'shop feed',
    event: 'up',
    output: { up: true, status_code: 200, alert: { state: 'up', streak: 2, notification: 'sent', down_for_ms: 125_000 } },
    timestamp: AT,
  };
}

/** A sender through a policy that allows loopback (the receivers of these tests listen there). */
export function testSender(options: { deny?: string[]; webhookSecret?: string; timeoutMs?: number } = {}): {
  sender: ChannelSender;
  policy: OutboundPolicy;
} {
  const policy = new OutboundPolicy(options.deny ?? []);
  const sender = new ChannelSender({ policy }, { webhookSecret: options.webhookSecret, publicUrl: PUBLIC_URL, timeoutMs: options.timeoutMs ?? 5000 });
  return { sender, policy };
}

/**
 * {@link testSender} for one `describe` block, and `track` for the local receivers its tests start: after the block,
 * every tracked receiver and the sender's policy are closed.
 */
export function useTestSender(options: Parameters<typeof testSender>[0] = {}): {
  sender: ChannelSender;
  track: <R extends { close(): Promise<void> }>(receiver: R) => R;
} {
  const { sender, policy } = testSender(options);
  const receivers: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await policy.close();
  });
  const track = <R extends { close(): Promise<void> }>(receiver: R): R => {
    receivers.push(receiver);
    return receiver;
  };
  return { sender, track };
}
