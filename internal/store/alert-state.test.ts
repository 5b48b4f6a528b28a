import { describe, expect, it } from 'vitest';
import { type AlertState, type AlertSummary, alertPolicyOf, alertStep } from './alert-state.js';

const T0 = Date.parse('2031-05-06T07:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000);

const fresh: AlertState = { up: null, lastUp: null, streak: 0, downSince: null, remindedAt: null, reminders: 0, silencedUntil: null };

/** Feeds results one by one (one per second) and returns what each step sent, and the last state. */
function feed(notify: Record<string, unknown>, results: boolean[], start: AlertState = fresh, from = 0) {
  const policy = alertPolicyOf(notify);
  let state = start;
  const sent: string[][] = [];
  const summaries: AlertSummary[] = [];
  results.forEach((up, i) => {
    const step = alertStep({ state, policy, up, events: [], now: at(from + i) });
    state = step.state;
    sent.push(step.send.map((e) => e.event));
    summaries.push(step.summary);
  });
  return { state, sent, summaries };
}

describe('the alert state machine', () => {
  const target = { channels: [1] };

  it('sends down on the first failure and up on the first success by default, as before thresholds', () => {
    const { sent, state } = feed(target, [true, false, false, true]);
    expect(sent).toEqual([[], ['down'], [], ['up']]);
    expect(state.up).toBe(true);
  });

  it('waits for down_after failures and up_after successes; a flap in between resets the streak', () => {
    const results = [true, true, false, false, true, false, false, false, true, false, true, true];
    const { sent, summaries, state } = feed({ ...target, down_after: 3, up_after: 2 }, results);
    expect(sent).toEqual([[], [], [], [], [], [], [], ['down'], [], [], [], ['up']]);
    // A first up result is not enough to know the state with up_after 2.
    expect(summaries[0]).toEqual({ state: null, streak: 1, notification: 'none' });
    expect(summaries[1]).toEqual({ state: 'up', streak: 2, notification: 'none' });
    expect(summaries[6]).toEqual({ state: 'up', streak: 2, notification: 'suppressed' });
    expect(summaries[7]).toMatchObject({ state: 'down', streak: 3, notification: 'sent', events: ['down'] });
    expect(summaries[9]).toMatchObject({ state: 'down', streak: 1, notification: 'none' });
    expect(summaries[10]).toMatchObject({ state: 'down', streak: 1, notification: 'suppressed' });
    expect(summaries[11]).toMatchObject({ state: 'up', streak: 2, notification: 'sent', events: ['up'], down_for_ms: 4000 });
    expect(state).toMatchObject({ up: true, downSince: null, reminders: 0 });
  });

  it('reminds every remind_every while down, numbering the reminders', () => {
    const { sent, summaries } = feed({ ...target, remind_every: '3s' }, [false, false, false, false, false, false, false]);
    expect(sent).toEqual([['down'], [], [], ['down'], [], [], ['down']]);
    expect(summaries[3]).toMatchObject({ reminder: 1, down_since: at(0).toISOString() });
    expect(summaries[6]).toMatchObject({ reminder: 2 });
  });

  it('sends nothing while silenced, and reminds on the first result after the silence', () => {
    const silenced = { ...fresh, silencedUntil: at(3) };
    const during = feed({ ...target, remind_every: '1h' }, [false, false, false], silenced);
    expect(during.sent).toEqual([[], [], []]);
    expect(during.summaries[0]).toMatchObject({ state: 'down', notification: 'silenced', events: ['down'], silenced_until: at(3).toISOString() });
    expect(during.state.remindedAt).toBeNull();
    const after = feed({ ...target, remind_every: '1h' }, [false, false], during.state, 3);
    expect(after.sent).toEqual([['down'], []]);
    expect(after.summaries[0]).toMatchObject({ reminder: 1 });
  });

  it('passes the handler’s other events through, and its own down/up only without a state', () => {
    const policy = alertPolicyOf({ ...target, on: ['down', 'changed', 'new_items'] });
    const withState = alertStep({ state: { ...fresh, up: true, lastUp: true, streak: 4 }, policy, up: true, events: ['up', 'changed', 'new_items'], now: at(0) });
    expect(withState.send.map((e) => e.event)).toEqual(['changed', 'new_items']);
    const stateless = alertStep({ state: fresh, policy, up: undefined, events: ['down'], now: at(0) });
    expect(stateless.send.map((e) => e.event)).toEqual(['down']);
    expect(stateless.state).toEqual(fresh);
  });

  it('sends nothing without a target or for events not in on, and says so', () => {
    expect(feed({}, [false]).summaries[0]).toMatchObject({ state: 'down', notification: 'none' });
    expect(feed({ ...target, on: ['up'] }, [false]).sent).toEqual([[]]);
  });
});
