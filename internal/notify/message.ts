import ms from 'ms';

/**
 * The message a channel renders, built from one outbox row's body. Every kind formats the same pieces (a headline,
 * a few labelled facts, the new items, a link back), so an email, a Slack post and a Telegram message of one event
 * say the same thing, each in its own service's format.
 */

/**
 * The body stored in the outbox for every notification: what today's webhook receivers get (`task_id`, `name`,
 * `event`, `output`, `timestamp`), plus `target`, the address the check looked at, which chat and email messages
 * show and the webhook kind leaves out.
 */
export interface AlertBody {
  task_id: number;
  name: string;
  event: string;
  output: Record<string, unknown>;
  timestamp: string;
  target?: string;
}

/** One new item, reduced to what a person reads: a title, a link, and its other plain fields. */
export interface MessageItem {
  title: string;
  url: string | null;
  fields: { name: string; value: string }[];
}

/** A labelled fact: `Reason: status 500 not in 200-399`. */
export interface MessageFact {
  label: string;
  value: string;
}

/** How serious the event is; kinds map it to colours, emoji, priorities. */
export type MessageSeverity = 'critical' | 'warning' | 'ok' | 'info';

export interface AlertMessage {
  event: string;
  /** A test message from `POST /channels/:id/test`: no task, and it says so. */
  test: boolean;
  taskId: number | null;
  taskName: string;
  /** The checked address (an http task's URL), when known. */
  target: string | null;
  /** `Down: shop feed`, `Still down: shop feed`, `3 new items: shop feed`. Plain text, no markup. */
  headline: string;
  /** One sentence under the headline. Plain text. */
  summary: string;
  severity: MessageSeverity;
  facts: MessageFact[];
  /** The first new items (at most {@link MAX_MESSAGE_ITEMS}); `itemCount` is how many there were in all. */
  items: MessageItem[];
  itemCount: number;
  /** The task in the dashboard, under `APP_PUBLIC_URL`; null when that is not set. */
  link: string | null;
  at: Date;
}

/** New items listed in one message; the rest are counted ("and 12 more"). */
export const MAX_MESSAGE_ITEMS = 10;
/** Plain fields shown per item. */
const MAX_ITEM_FIELDS = 6;
/** Characters of one shown value. */
const MAX_VALUE_CHARS = 200;

/** Field names read as an item's title, in order of preference. */
const TITLE_FIELDS = ['title', 'name', 'label', 'subject', 'headline', 'summary'];
/** Field names read as an item's link. */
const LINK_FIELDS = ['url', 'link', 'href', 'permalink', 'external_url'];

export interface MessageOptions {
  /** `APP_PUBLIC_URL`: where people reach this Vigil; links are built under it. */
  publicUrl?: string | undefined;
}

/** The link to a task in the dashboard, or null without a public URL. */
export function taskLink(publicUrl: string | undefined, taskId: number): string | null {
  if (publicUrl === undefined || publicUrl === '') return null;
  return `${publicUrl.replace(/\/+$/, '')}/ui/tasks/${taskId}`;
}

/** The message of an outbox body. Tolerates bodies written by older or newer versions (missing fields are left out). */
export function alertMessageOf(body: AlertBody, options: MessageOptions = {}): AlertMessage {
  const output = isRecord(body.output) ? body.output : {};
  const alert = isRecord(output.alert) ? output.alert : {};
  const name = body.name;
  const event = body.event;
  const reason = stringOf(output.reason);
  const reminder = typeof alert.reminder === 'number' && alert.reminder > 0 ? alert.reminder : null;
  const downSince = dateOf(alert.down_since);
  const at = dateOf(body.timestamp) ?? new Date();
  const items = itemsOf(output);
  const itemCount = numberOf(isRecord(output.new_items) ? output.new_items.count : undefined) ?? items.length;
  const target = body.target ?? stringOf(output.final_url);

  const facts: MessageFact[] = [];
  const add = (label: string, value: string | null | undefined) => {
    if (value !== null && value !== undefined && value !== '') facts.push({ label, value: clip(value) });
  };
  let headline: string;
  let summary: string;
  let severity: MessageSeverity;
  switch (event) {
    case 'down': {
      headline = reminder === null ? `Down: ${name}` : `Still down: ${name}`;
      const since = downSince === null ? '' : ` for ${ms(Math.max(0, at.getTime() - downSince.getTime()), { long: true })}`;
      summary =
        reminder === null
          ? `${name} is down${reason === null ? '.' : `: ${reason}.`}`
          : `${name} has been down${since}${reason === null ? '.' : `: ${reason}.`}`;
      severity = 'critical';
      add('Reason', reason);
      if (reminder === null && typeof alert.streak === 'number' && alert.streak > 1) {
        add('Confirmed', `${alert.streak} checks in a row`);
      }
      if (downSince !== null) add('Down since', downSince.toISOString());
      break;
    }
    case 'up': {
      headline = `Up again: ${name}`;
      const downFor = numberOf(alert.down_for_ms);
      summary = `${name} is up again${downFor === null ? '.' : ` after ${ms(downFor, { long: true })} down.`}`;
      severity = 'ok';
      break;
    }
    case 'changed':
      headline = `Changed: ${name}`;
      summary = `The content of ${name} changed.`;
      severity = 'info';
      break;
    case 'new_items':
      headline = `${itemCount} new ${itemCount === 1 ? 'item' : 'items'}: ${name}`;
      summary = `${name} has ${itemCount} new ${itemCount === 1 ? 'item' : 'items'}.`;
      severity = 'info';
      break;
    case 'cert_expiring': {
      headline = `Certificate expiring: ${name}`;
      const days = numberOf(output.cert_days_left);
      summary = `The TLS certificate of ${name} expires${days === null ? ' soon' : ` in ${days} ${days === 1 ? 'day' : 'days'}`}.`;
      severity = 'warning';
      break;
    }
    case 'test':
      headline = 'Test message from Vigil';
      summary = `This is a test of the channel ${JSON.stringify(name)}. If you can read it, alerts will reach you here.`;
      severity = 'info';
      break;
    default:
      headline = `${event}: ${name}`;
      summary = `${name} reported ${event}.`;
      severity = 'info';
  }
  add('Target', target);
  const status = numberOf(output.status_code);
  if (status !== null) add('Status', String(status));
  const latency = numberOf(output.latency_ms);
  if (latency !== null) add('Latency', `${latency} ms`);
  add('Certificate expires', stringOf(output.cert_expires_at));

  return {
    event,
    test: event === 'test',
    taskId: event === 'test' ? null : body.task_id,
    taskName: name,
    target,
    headline: clip(headline),
    summary: clip(summary, 500),
    severity,
    facts,
    items: event === 'new_items' || items.length > 0 ? items : [],
    itemCount,
    link: event === 'test' ? stripSlash(options.publicUrl) : taskLink(options.publicUrl, body.task_id),
    at,
  };
}

/** The body of a test message for a channel: no task, event `test`. */
export function testBody(channelName: string, now: Date): AlertBody {
  return { task_id: 0, name: channelName, event: 'test', output: {}, timestamp: now.toISOString() };
}

/** The JSON a webhook receives: today's five fields, exactly. */
export function webhookBodyOf(body: AlertBody): Record<string, unknown> {
  return { task_id: body.task_id, name: body.name, event: body.event, output: body.output, timestamp: body.timestamp };
}

function itemsOf(output: Record<string, unknown>): MessageItem[] {
  const newItems = isRecord(output.new_items) ? output.new_items.first : undefined;
  if (!Array.isArray(newItems)) return [];
  return newItems.slice(0, MAX_MESSAGE_ITEMS).map(toItem);
}

function toItem(raw: unknown): MessageItem {
  if (!isRecord(raw)) return { title: clip(scalarText(raw) ?? JSON.stringify(raw) ?? ''), url: null, fields: [] };
  const titleKey = TITLE_FIELDS.find((k) => typeof raw[k] === 'string' && raw[k] !== '');
  const linkKey = LINK_FIELDS.find((k) => typeof raw[k] === 'string' && /^https?:\/\//i.test(raw[k] as string));
  const idText = scalarText(raw.id);
  const title = titleKey !== undefined ? String(raw[titleKey]) : idText !== null ? `#${idText}` : clip(JSON.stringify(raw));
  const fields: MessageItem['fields'] = [];
  for (const [name, value] of Object.entries(raw)) {
    if (name === titleKey || name === linkKey || fields.length >= MAX_ITEM_FIELDS) continue;
    const text = scalarText(value);
    if (text !== null && text !== '') fields.push({ name, value: clip(text) });
  }
  return { title: clip(title), url: linkKey === undefined ? null : (raw[linkKey] as string), fields };
}

function scalarText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return null;
}

/** Cuts a value to `max` characters, ending with an ellipsis when cut. */
export function clip(text: string, max = MAX_VALUE_CHARS): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function stripSlash(url: string | undefined): string | null {
  return url === undefined || url === '' ? null : url.replace(/\/+$/, '');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function stringOf(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function numberOf(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function dateOf(value: unknown): Date | null {
  if (typeof value !== 'string') return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}
