import ms from 'ms';
import { parseJson, toDateOrNull } from './mappers.js';
import type { NotificationDraft } from './notification-repo.js';
import type { JsonObject, TaskRow } from './types.js';

/**
 * The alert state machine of a monitored task: confirmation thresholds, reminders and silencing. Pure functions of
 * the task row and one result; `slotCompleteMany` runs them under the row's lock and writes what they return in
 * the transaction that records the outcome, so the state holds across restarts and processes, and is never
 * advanced twice by one result.
 *
 * ```
 *              down result, streak < down_after              up result, streak < up_after
 *                 ┌──────────┐ (suppressed)                    ┌──────────┐ (suppressed)
 *                 ▼          │                                 ▼          │
 *   unknown ──► UP ──────────┴── down result, streak ≥ down_after ──► DOWN ┴─ … every remind_every: `down` again
 *      │          ▲                      sends `down`                 │
 *      │          └────────────── up result, streak ≥ up_after ───────┘
 *      │                                 sends `up`
 *      └─ a first result confirms its state once its streak is long enough; only `down` is news then
 * ```
 *
 * `tasks.up` is the confirmed state. While `silenced_until` is in the future the machine moves as usual but
 * nothing is sent; a task still down when the silence ends gets its next reminder on the next run.
 */

/** What a task's `notify` asks for, with the defaults of a task that says nothing. */
export interface AlertPolicy {
  /** Consecutive down results before the task is down and `down` is sent. Default 1. */
  downAfter: number;
  /** Consecutive up results before the task is up again and `up` is sent. Default 1. */
  upAfter: number;
  /** Repeat `down` this often (ms) while the task stays down; null never. */
  remindEveryMs: number | null;
  /** Events that are sent. */
  on: ReadonlySet<string>;
  /** The task's own webhook, sent as before channels existed. */
  webhookUrl: string | null;
  /** Channel ids. */
  channels: readonly number[];
}

/** The alert columns of a task row, read. */
export interface AlertState {
  /** The confirmed state (`tasks.up`). */
  up: boolean | null;
  /** What the latest result showed, and how many results in a row showed it. */
  lastUp: boolean | null;
  streak: number;
  downSince: Date | null;
  remindedAt: Date | null;
  reminders: number;
  silencedUntil: Date | null;
}

/** What one result did, as the run's output shows it under `alert`. */
export interface AlertSummary {
  /** The confirmed state after this result; null until a first state is confirmed. */
  state: 'up' | 'down' | null;
  /** Results in a row, this one included, that showed what this one showed. */
  streak: number;
  /**
   * `sent`: notifications were queued; `silenced`: some would have been, but the task is silenced; `suppressed`:
   * the result disagrees with the confirmed state and waits for its threshold; `none`: nothing to send.
   */
  notification: 'sent' | 'silenced' | 'suppressed' | 'none';
  /** The events queued (or silenced). */
  events?: string[];
  /** Which reminder this `down` is (1 for the first repeat). */
  reminder?: number;
  /** When the confirmed state became down (while down). */
  down_since?: string;
  /** How long the task was down, on the result that confirmed it up again. */
  down_for_ms?: number;
  silenced_until?: string;
}

/** One event to send, to every target of the task. */
export interface AlertEvent {
  event: string;
}

export interface AlertStep {
  /** The alert columns after this result. */
  state: AlertState;
  /** Events to queue for every target (empty while silenced). */
  send: AlertEvent[];
  summary: AlertSummary;
}

const DEFAULT_ON = ['down', 'up'];

/** The policy of a task's `notify` JSON (null or missing fields take the defaults). */
export function alertPolicyOf(notify: JsonObject | null): AlertPolicy {
  const n = notify ?? {};
  const whole = (value: unknown, fallback: number) => (typeof value === 'number' && Number.isInteger(value) && value >= 1 ? value : fallback);
  const remind = typeof n.remind_every === 'string' ? ms(n.remind_every as ms.StringValue) : undefined;
  return {
    downAfter: whole(n.down_after, 1),
    upAfter: whole(n.up_after, 1),
    remindEveryMs: typeof remind === 'number' && Number.isFinite(remind) && remind > 0 ? remind : null,
    on: new Set(Array.isArray(n.on) ? n.on.filter((e): e is string => typeof e === 'string') : DEFAULT_ON),
    webhookUrl: typeof n.webhook_url === 'string' ? n.webhook_url : null,
    channels: Array.isArray(n.channels) ? n.channels.filter((c): c is number => Number.isSafeInteger(c)) : [],
  };
}

/** The alert columns of a task row. */
export function alertStateOf(row: TaskRow): AlertState {
  const bool = (value: number | null | undefined) => (value === null || value === undefined ? null : Boolean(Number(value)));
  return {
    up: bool(row.up),
    lastUp: bool(row.alert_last_up),
    streak: Number(row.alert_streak ?? 0),
    downSince: toDateOrNull(row.alert_down_since ?? null),
    remindedAt: toDateOrNull(row.alert_reminded_at ?? null),
    reminders: Number(row.alert_reminders ?? 0),
    silencedUntil: toDateOrNull(row.silenced_until ?? null),
  };
}

/**
 * Moves the alert state by one result. `up` is what the check saw (undefined for a result that reports no state);
 * `events` are the handler's own events, of which `down` and `up` are replaced by the confirmed ones whenever the
 * result has a state.
 */
export function alertStep(params: {
  state: AlertState;
  policy: AlertPolicy;
  up: boolean | undefined;
  events: readonly string[];
  now: Date;
}): AlertStep {
  const { policy, up, now } = params;
  const prev = params.state;
  const next: AlertState = { ...prev };
  const raised: { event: string; reminder?: number }[] = [];
  let suppressed = false;
  let downForMs: number | undefined;

  if (up !== undefined) {
    next.streak = prev.lastUp === up ? prev.streak + 1 : 1;
    next.lastUp = up;
    if (!up) {
      if (prev.up !== false && next.streak >= policy.downAfter) {
        next.up = false;
        next.downSince = now;
        next.reminders = 0;
        next.remindedAt = null;
        raised.push({ event: 'down' });
      } else if (prev.up === false && policy.remindEveryMs !== null) {
        const due = prev.remindedAt === null || now.getTime() - prev.remindedAt.getTime() >= policy.remindEveryMs;
        if (due) raised.push({ event: 'down', reminder: prev.reminders + 1 });
      } else if (prev.up !== false) {
        suppressed = true;
      }
    } else if (prev.up !== true) {
      if (next.streak >= policy.upAfter) {
        if (prev.up === false) {
          raised.push({ event: 'up' });
          if (prev.downSince !== null) downForMs = Math.max(0, now.getTime() - prev.downSince.getTime());
        }
        next.up = true;
        next.downSince = null;
        next.remindedAt = null;
        next.reminders = 0;
      } else if (prev.up === false) {
        suppressed = true;
      }
    }
  }
  // The handler's other events (changed, new_items, cert_expiring, …) are sent as they come; its own down/up only
  // when the result reports no state of its own to confirm.
  for (const event of params.events) {
    if (up !== undefined && (event === 'down' || event === 'up')) continue;
    if (!raised.some((r) => r.event === event)) raised.push({ event });
  }

  const wanted = raised.filter((r) => policy.on.has(r.event));
  const hasTarget = policy.webhookUrl !== null || policy.channels.length > 0;
  const silenced = prev.silencedUntil !== null && prev.silencedUntil.getTime() > now.getTime();
  const sending = hasTarget && !silenced ? wanted : [];
  const reminder = wanted.find((r) => r.reminder !== undefined)?.reminder;
  // A down (first or repeated) counts as sent only when it really goes out: a silenced one is repeated later.
  if (up === false && sending.some((r) => r.event === 'down')) {
    next.remindedAt = now;
    if (reminder !== undefined) next.reminders = reminder;
  }

  const summary: AlertSummary = {
    state: next.up === null ? null : next.up ? 'up' : 'down',
    streak: next.streak,
    notification:
      wanted.length > 0 && hasTarget ? (silenced ? 'silenced' : 'sent') : suppressed ? 'suppressed' : 'none',
  };
  if (wanted.length > 0 && hasTarget) summary.events = wanted.map((r) => r.event);
  if (reminder !== undefined) summary.reminder = reminder;
  if (next.downSince !== null) summary.down_since = next.downSince.toISOString();
  if (downForMs !== undefined) summary.down_for_ms = downForMs;
  if (silenced && prev.silencedUntil !== null) summary.silenced_until = prev.silencedUntil.toISOString();
  return { state: next, send: sending.map((r) => ({ event: r.event })), summary };
}

/**
 * The outbox rows for the events an alert step sends: one per event and target (the task's `webhook_url`, then
 * each channel), each with the body every kind formats: `{task_id, name, event, output, timestamp, target?}`.
 */
export function alertDraftsOf(row: TaskRow, runId: number, alert: AlertStep, output: unknown, now: Date): NotificationDraft[] {
  if (alert.send.length === 0) return [];
  const policy = alertPolicyOf(notifyOf(row));
  const payload = parseJson<JsonObject>(row.payload);
  const target = typeof payload?.url === 'string' ? payload.url : undefined;
  const drafts: NotificationDraft[] = [];
  for (const { event } of alert.send) {
    const body: JsonObject = {
      task_id: Number(row.id),
      name: row.name,
      event,
      output: output !== null && typeof output === 'object' ? output : { value: output ?? null },
      timestamp: now.toISOString(),
      ...(target === undefined ? {} : { target }),
    };
    const base = { taskId: Number(row.id), runId, event, body };
    if (policy.webhookUrl !== null) drafts.push({ ...base, channelId: null, url: policy.webhookUrl });
    for (const channelId of policy.channels) drafts.push({ ...base, channelId, url: '' });
  }
  return drafts;
}

/** A run's output with what its result did to the alert state under `alert` (outputs that are not objects stay as they are). */
export function withAlertSummary(output: unknown, alert: AlertStep | undefined): unknown {
  return alert !== undefined && output !== null && typeof output === 'object' && !Array.isArray(output)
    ? { ...(output as JsonObject), alert: alert.summary }
    : output;
}

/** The task's notify JSON of a row. */
export function notifyOf(row: TaskRow): JsonObject | null {
  return parseJson<JsonObject>(row.notify);
}
