import { type FormEvent, useState } from 'react';
import { Field } from '../../components/field';
import { FormActions } from './form-actions';
import { type HttpFormValues, NOTIFY_EVENTS, fieldError, unplacedErrors } from './task-form-model';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

interface HttpTaskFormProps {
  initial: HttpFormValues;
  /** The API's `fields` from the last refused request, plus the form's own problems. */
  errors: Record<string, string>;
  /** A message about the whole request (not a field). */
  failure: string | null;
  submitLabel: string;
  busy: boolean;
  onSubmit(values: HttpFormValues): void;
  onCancel?(): void;
}

/** Every field of an `http` task: the check, the schedule, the run limits and the webhook. */
export function HttpTaskForm({ initial, errors, failure, submitLabel, busy, onSubmit, onCancel }: HttpTaskFormProps) {
  const [v, setV] = useState(initial);
  const set = <K extends keyof HttpFormValues>(key: K, value: HttpFormValues[K]) => setV((old) => ({ ...old, [key]: value }));
  const err = (...names: string[]) => fieldError(errors, ...names);
  const others = unplacedErrors(errors);
  const hasErrors = Object.keys(errors).length > 0;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    onSubmit(v);
  };

  return (
    <form className="task-form" onSubmit={submit} noValidate aria-label={`${submitLabel} form`}>
      {(failure !== null || hasErrors) && (
        <div className="notice bad" role="alert">
          <p>{failure ?? 'The server refused the task.'} {hasErrors && 'Fix the fields marked below.'}</p>
          {others.length > 0 && (
            <ul>
              {others.map(([key, message]) => (
                <li key={key}>
                  <code>{key}</code> {message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}

      <fieldset>
        <legend>Check</legend>
        <Field label="Name" error={err('name')}>
          <input value={v.name} onChange={(e) => set('name', e.target.value)} maxLength={200} required />
        </Field>
        <Field label="URL" error={err('payload.url')} hint="http:// or https://">
          <input value={v.url} onChange={(e) => set('url', e.target.value)} inputMode="url" placeholder="https://example.com/health" required />
        </Field>
        <div className="row">
          <Field label="Method" error={err('payload.method')}>
            <select value={v.method} onChange={(e) => set('method', e.target.value as HttpFormValues['method'])}>
              {METHODS.map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>
          </Field>
          <Field label="Expected status" error={err('payload.expect_status')} hint="a range like 200-399 (the default) or a list like 200, 204">
            <input value={v.expectStatus} onChange={(e) => set('expectStatus', e.target.value)} placeholder="200-399" />
          </Field>
        </div>
        <Field label="Request headers" error={err('payload.headers')} hint="one per line: Name: value">
          <textarea rows={2} value={v.headers} onChange={(e) => set('headers', e.target.value)} className="mono" />
        </Field>
        <Field label="Request body" error={err('payload.body')} hint="not with GET or HEAD">
          <textarea rows={2} value={v.body} onChange={(e) => set('body', e.target.value)} className="mono" disabled={v.method === 'GET' || v.method === 'HEAD'} />
        </Field>
        <div className="row">
          <Field label="Body must contain" error={err('payload.match')}>
            <select value={v.matchKind} onChange={(e) => set('matchKind', e.target.value as HttpFormValues['matchKind'])}>
              <option value="none">anything</option>
              <option value="substring">this text</option>
              <option value="regex">a match of this regular expression</option>
            </select>
          </Field>
          {v.matchKind !== 'none' && (
            <Field label={v.matchKind === 'regex' ? 'Regular expression' : 'Text'}>
              <input value={v.matchText} onChange={(e) => set('matchText', e.target.value)} className="mono" />
            </Field>
          )}
          {v.matchKind === 'regex' && (
            <Field label="Flags" hint="i, m, s, u, v">
              <input value={v.matchFlags} onChange={(e) => set('matchFlags', e.target.value)} size={4} className="mono" />
            </Field>
          )}
        </div>
        <div className="row">
          <Field label="New items: array at" error={err('payload.items')} hint="a JSON pointer such as /data/items; empty: off">
            <input value={v.itemsPath} onChange={(e) => set('itemsPath', e.target.value)} className="mono" />
          </Field>
          <Field label="New items: id field" hint="such as id">
            <input value={v.itemsId} onChange={(e) => set('itemsId', e.target.value)} className="mono" />
          </Field>
        </div>
        <div className="row">
          <Field label="Largest body read (bytes)" error={err('payload.max_body_bytes')} hint="default 1 MiB">
            <input value={v.maxBodyBytes} onChange={(e) => set('maxBodyBytes', e.target.value)} inputMode="numeric" />
          </Field>
          <Field label="Request timeout (ms)" error={err('payload.request_timeout_ms')} hint="default: a little under the task timeout">
            <input value={v.requestTimeoutMs} onChange={(e) => set('requestTimeoutMs', e.target.value)} inputMode="numeric" />
          </Field>
          <Field label="Slowest answer that is up (ms)" error={err('payload.max_latency_ms')} hint="empty: no limit">
            <input value={v.maxLatencyMs} onChange={(e) => set('maxLatencyMs', e.target.value)} inputMode="numeric" />
          </Field>
        </div>
        <Field
          label="More checks (JSON)"
          error={err('payload.extra', 'payload.tls', 'payload.json', 'payload.expect_headers')}
          hint='merged into the payload: {"tls": {"min_days_left": 14}}, {"json": [...]}, {"expect_headers": {...}}, or items by {"selector": …} or {"feed": true}'
        >
          <textarea rows={3} value={v.extra} onChange={(e) => set('extra', e.target.value)} className="mono" spellCheck={false} />
        </Field>
      </fieldset>

      <fieldset>
        <legend>Schedule</legend>
        <div className="row" role="radiogroup" aria-label="Schedule kind">
          <label className="inline">
            <input type="radio" name="schedule-kind" checked={v.scheduleKind === 'every'} onChange={() => set('scheduleKind', 'every')} /> every N seconds
          </label>
          <label className="inline">
            <input type="radio" name="schedule-kind" checked={v.scheduleKind === 'cron'} onChange={() => set('scheduleKind', 'cron')} /> cron line
          </label>
        </div>
        {v.scheduleKind === 'every' ? (
          <Field label="Every (seconds)" error={err('schedule')}>
            <input value={v.every} onChange={(e) => set('every', e.target.value)} inputMode="numeric" />
          </Field>
        ) : (
          <div className="row">
            <Field label="Cron line" error={err('schedule.cron', 'schedule')} hint="five fields, or six with seconds first">
              <input value={v.cron} onChange={(e) => set('cron', e.target.value)} className="mono" placeholder="*/5 * * * *" />
            </Field>
            <Field label="Time zone" error={err('schedule.tz')} hint="IANA name; default UTC">
              <input value={v.tz} onChange={(e) => set('tz', e.target.value)} placeholder="Europe/Paris" />
            </Field>
          </div>
        )}
        <div className="row">
          <Field label="Priority" error={err('priority')} hint="1–5; 5 runs first">
            <input value={v.priority} onChange={(e) => set('priority', e.target.value)} inputMode="numeric" size={3} />
          </Field>
          <Field label="Timeout (ms)" error={err('timeout_ms')}>
            <input value={v.timeoutMs} onChange={(e) => set('timeoutMs', e.target.value)} inputMode="numeric" />
          </Field>
          <Field label="Attempts" error={err('max_attempts')} hint="per slot, retries included">
            <input value={v.maxAttempts} onChange={(e) => set('maxAttempts', e.target.value)} inputMode="numeric" size={3} />
          </Field>
        </div>
        <label className="inline">
          <input type="checkbox" checked={v.paused} onChange={(e) => set('paused', e.target.checked)} /> Paused
        </label>
      </fieldset>

      <fieldset>
        <legend>Webhook</legend>
        <Field label="Webhook URL" error={err('notify.webhook_url', 'notify')} hint="empty: no webhook">
          <input value={v.webhookUrl} onChange={(e) => set('webhookUrl', e.target.value)} inputMode="url" />
        </Field>
        <div className="row" role="group" aria-label="Events">
          {NOTIFY_EVENTS.map((event) => (
            <label key={event} className="inline">
              <input
                type="checkbox"
                checked={v.notifyOn.includes(event)}
                onChange={(e) => set('notifyOn', e.target.checked ? [...v.notifyOn, event] : v.notifyOn.filter((x) => x !== event))}
              />{' '}
              {event.replace('_', ' ')}
            </label>
          ))}
        </div>
      </fieldset>

      <FormActions submitLabel={submitLabel} busy={busy} onCancel={onCancel} />
    </form>
  );
}
