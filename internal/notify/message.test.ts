import { describe, expect, it } from 'vitest';
import { alertMessageOf, taskLink, webhookBodyOf } from './message.js';
import { AT, PUBLIC_URL, downBody, newItemsBody, upBody } from './test-fixtures.js';

describe('alert messages', () => {
  it('says what happened to a down target, and whether it is a reminder', () => {
    const first = alertMessageOf(downBody(), { publicUrl: PUBLIC_URL });
    expect(first).toMatchObject({ headline: 'Down: shop <api>', severity: 'critical', link: 'https://vigil.example.com/ui/tasks/42' });
    expect(first.summary).toBe('shop <api> is down: status 500 not in 200-399.');
    expect(first.facts.map((f) => f.label)).toEqual(['Reason', 'Confirmed', 'Down since', 'Target', 'Status', 'Latency']);

    const later = new Date(Date.parse(AT) + 3 * 3600_000).toISOString();
    const body = downBody({ timestamp: later });
    body.output.alert = { state: 'down', streak: 40, reminder: 2, down_since: AT };
    const reminder = alertMessageOf(body);
    expect(reminder.headline).toBe('Still down: shop <api>');
    expect(reminder.summary).toBe('shop <api> has been down for 3 hours: status 500 not in 200-399.');
    expect(reminder.link).toBeNull();
  });

  it('formats up, new items, certificate expiry and events it does not know', () => {
    expect(alertMessageOf(upBody()).summary).toBe('shop feed is up again after 2 minutes down.');
    const items = alertMessageOf(newItemsBody(25));
    expect(items.headline).toBe('25 new items: shop feed');
    expect(items.items).toHaveLength(10);
    expect(items.items[0]).toEqual({
      title: 'Lamp <b>&</b> "shade"',
      url: 'https://shop.example/items/1',
      fields: [
        { name: 'id', value: 'sku-1' },
        { name: 'price', value: '10' },
        { name: 'in_stock', value: 'true' },
      ],
    });
    const cert = alertMessageOf({
      task_id: 1,
      name: 'api',
      event: 'cert_expiring',
      output: { cert_days_left: 5, cert_expires_at: '2031-05-11T00:00:00.000Z' },
      timestamp: AT,
    });
    expect(cert).toMatchObject({ headline: 'Certificate expiring: api', summary: 'The TLS certificate of api expires in 5 days.', severity: 'warning' });
    expect(cert.facts).toContainEqual({ label: 'Certificate expires', value: '2031-05-11T00:00:00.000Z' });
    expect(alertMessageOf({ task_id: 1, name: 'job', event: 'quota_low', output: {}, timestamp: AT }).headline).toBe('quota_low: job');
  });

  it('builds task links under the public URL and keeps the webhook body to its five fields', () => {
    expect(taskLink('https://v.example/base/', 7)).toBe('https://v.example/base/ui/tasks/7');
    expect(taskLink(undefined, 7)).toBeNull();
    expect(Object.keys(webhookBodyOf(downBody()))).toEqual(['task_id', 'name', 'event', 'output', 'timestamp']);
  });
});
