/**
 * The events a check reports in its output's `events`, and that a task's `notify.on` may list. This is the one list:
 * the API's schema of `notify.on` and the notification channels are built from it.
 *
 * - `down`: the target was up (or never checked) and is down now;
 * - `up`: it was down and is up again;
 * - `changed`: the body differs from the last one seen while up;
 * - `new_items`: items not seen before appeared (never on the first, baseline, run);
 * - `cert_expiring`: the https certificate has fewer days left than `tls.min_days_left`; once per certificate.
 */
export const NOTIFY_EVENTS = ['down', 'up', 'changed', 'new_items', 'cert_expiring'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** What happened in one run, compared with the run before. */
export interface RunTransitions {
  /** The state after the previous successful run; undefined before the first. */
  previousUp: boolean | undefined;
  up: boolean;
  changed: boolean;
  newItems: number;
  /** A certificate under the limit that was not reported before. */
  certExpiring: boolean;
}

/**
 * Only transitions: `down` when the target was up or never checked and is down now (a monitor that starts out down
 * says so once); `up` when it was down and is up again (a first run that is up is not news). A target that stays
 * down reports nothing more, because the memory carries `up: false`. Events come in the order of
 * {@link NOTIFY_EVENTS}.
 */
export function eventsFor(t: RunTransitions): NotifyEvent[] {
  const events: NotifyEvent[] = [];
  if (!t.up && t.previousUp !== false) events.push('down');
  if (t.up && t.previousUp === false) events.push('up');
  if (t.changed) events.push('changed');
  if (t.newItems > 0) events.push('new_items');
  if (t.certExpiring) events.push('cert_expiring');
  return events;
}
