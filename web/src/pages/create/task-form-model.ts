import type { HttpPayload, Task, TaskCreate } from '../../api/client';

/**
 * The `http` task form as text fields, and the request bodies built from it. Values the form cannot read are sent
 * as typed, so that the server, which validates everything, names the field and says what is wrong with it; only
 * what cannot be sent at all (a header line without a colon) is reported here, under the API's field name.
 */
export interface HttpFormValues {
  name: string;
  url: string;
  method: NonNullable<HttpPayload['method']>;
  /** One `Name: value` per line. */
  headers: string;
  body: string;
  /** `200-399`, or a list such as `200, 204`. Empty: the server's default (200–399). */
  expectStatus: string;
  matchKind: 'none' | 'substring' | 'regex';
  matchText: string;
  matchFlags: string;
  itemsPath: string;
  itemsId: string;
  maxBodyBytes: string;
  requestTimeoutMs: string;
  /** Down when the answer takes longer; empty: no limit. */
  maxLatencyMs: string;
  /**
   * The payload's other checks as a JSON object (`tls`, `json`, `expect_headers`, and `items` by CSS selector or
   * from a feed), merged into the payload; empty: none.
   */
  extra: string;
  scheduleKind: 'every' | 'cron';
  every: string;
  cron: string;
  tz: string;
  priority: string;
  timeoutMs: string;
  maxAttempts: string;
  paused: boolean;
  webhookUrl: string;
  notifyOn: NotifyEvent[];
}

export const NOTIFY_EVENTS = ['down', 'up', 'changed', 'new_items', 'cert_expiring'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

export function emptyHttpForm(): HttpFormValues {
  return {
    name: '',
    url: '',
    method: 'GET',
    headers: '',
    body: '',
    expectStatus: '',
    matchKind: 'none',
    matchText: '',
    matchFlags: '',
    itemsPath: '',
    itemsId: '',
    maxBodyBytes: '',
    requestTimeoutMs: '',
    maxLatencyMs: '',
    extra: '',
    scheduleKind: 'every',
    every: '60',
    cron: '',
    tz: '',
    priority: '3',
    timeoutMs: '30000',
    maxAttempts: '3',
    paused: false,
    webhookUrl: '',
    notifyOn: ['down', 'up'],
  };
}

/** The form filled from an existing `http` task, for editing. */
export function httpFormFromTask(task: Task): HttpFormValues {
  const p = task.payload as Partial<HttpPayload>;
  const match = p.match;
  const expect = p.expect_status;
  const notify = task.notify;
  const items = p.items;
  const pathItems = items !== undefined && 'path' in items ? items : undefined;
  const extra: Record<string, unknown> = {};
  for (const key of EXTRA_KEYS) if (p[key] !== undefined) extra[key] = p[key];
  if (items !== undefined && pathItems === undefined) extra.items = items;
  return {
    ...emptyHttpForm(),
    name: task.name,
    url: typeof p.url === 'string' ? p.url : '',
    method: p.method ?? 'GET',
    headers: Object.entries(p.headers ?? {})
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n'),
    body: p.body ?? '',
    expectStatus: Array.isArray(expect) ? expect.join(', ') : expect === undefined ? '' : `${expect.min}-${expect.max}`,
    matchKind: match === undefined ? 'none' : typeof match === 'string' || match.substring !== undefined ? 'substring' : 'regex',
    matchText: match === undefined ? '' : typeof match === 'string' ? match : (match.substring ?? match.regex ?? ''),
    matchFlags: typeof match === 'object' ? (match.flags ?? '') : '',
    itemsPath: pathItems?.path ?? '',
    itemsId: pathItems?.id ?? '',
    maxBodyBytes: p.max_body_bytes === undefined ? '' : String(p.max_body_bytes),
    requestTimeoutMs: p.request_timeout_ms === undefined ? '' : String(p.request_timeout_ms),
    maxLatencyMs: p.max_latency_ms === undefined ? '' : String(p.max_latency_ms),
    extra: Object.keys(extra).length === 0 ? '' : JSON.stringify(extra, null, 2),
    scheduleKind: 'every' in task.schedule ? 'every' : 'cron',
    every: 'every' in task.schedule ? String(task.schedule.every) : '60',
    cron: 'cron' in task.schedule ? task.schedule.cron : '',
    tz: 'cron' in task.schedule ? (task.schedule.tz ?? '') : '',
    priority: String(task.priority),
    timeoutMs: String(task.timeout_ms),
    maxAttempts: String(task.max_attempts),
    paused: task.status === 'paused',
    webhookUrl: notify?.webhook_url ?? '',
    notifyOn: notify?.on ?? ['down', 'up'],
  };
}

export interface BuiltBody {
  body: TaskCreate;
  /** Problems found before sending, by API field name; the body is not sent while there are any. */
  problems: Record<string, string>;
}

/** The `POST /tasks` body for the form. */
export function httpFormToBody(v: HttpFormValues): BuiltBody {
  const problems: Record<string, string> = {};
  const payload: Record<string, unknown> = { url: v.url.trim(), method: v.method };
  const headers = parseHeaders(v.headers);
  if (typeof headers === 'string') problems['payload.headers'] = headers;
  else if (Object.keys(headers).length > 0) payload.headers = headers;
  if (v.body !== '') payload.body = v.body;
  const expect = parseExpectStatus(v.expectStatus);
  if (expect !== undefined) payload.expect_status = expect;
  if (v.matchKind === 'substring') payload.match = { substring: v.matchText };
  if (v.matchKind === 'regex') payload.match = v.matchFlags === '' ? { regex: v.matchText } : { regex: v.matchText, flags: v.matchFlags };
  if (v.itemsPath !== '' || v.itemsId !== '') payload.items = { path: v.itemsPath, id: v.itemsId };
  setNumber(payload, 'max_body_bytes', v.maxBodyBytes);
  setNumber(payload, 'request_timeout_ms', v.requestTimeoutMs);
  setNumber(payload, 'max_latency_ms', v.maxLatencyMs);
  if (v.extra.trim() !== '') {
    let extra: unknown;
    try {
      extra = JSON.parse(v.extra);
    } catch {
      extra = undefined;
    }
    if (extra === null || typeof extra !== 'object' || Array.isArray(extra)) problems['payload.extra'] = 'must be a JSON object';
    else Object.assign(payload, extra);
  }

  const body: Record<string, unknown> = {
    name: v.name,
    type: 'http',
    payload,
    schedule: v.scheduleKind === 'every' ? { every: numberOrText(v.every) } : v.tz.trim() === '' ? { cron: v.cron.trim() } : { cron: v.cron.trim(), tz: v.tz.trim() },
    status: v.paused ? 'paused' : 'running',
  };
  setNumber(body, 'priority', v.priority);
  setNumber(body, 'timeout_ms', v.timeoutMs);
  setNumber(body, 'max_attempts', v.maxAttempts);
  if (v.webhookUrl.trim() !== '') body.notify = { webhook_url: v.webhookUrl.trim(), on: v.notifyOn };
  return { body: body as TaskCreate, problems };
}

/** Payload checks the form edits as JSON rather than as fields of their own. */
const EXTRA_KEYS = ['tls', 'json', 'expect_headers'] as const;

/** `Name: value` lines → an object, or what is wrong with them. */
export function parseHeaders(text: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return `line ${i + 1} must look like "Name: value"`;
    out[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return out;
}

/** `200-399` → a range, `200, 204` → a list, empty → the server's default; anything else is sent as typed. */
export function parseExpectStatus(text: string): unknown {
  const t = text.trim();
  if (t === '') return undefined;
  const range = /^(\d{3})\s*[-–]\s*(\d{3})$/.exec(t);
  if (range !== null) return { min: Number(range[1]), max: Number(range[2]) };
  if (/^\d{3}(\s*,\s*\d{3})*$/.test(t)) return t.split(',').map((s) => Number(s.trim()));
  return t;
}

function numberOrText(text: string): number | string {
  const t = text.trim();
  return t !== '' && Number.isFinite(Number(t)) ? Number(t) : t;
}

function setNumber(target: Record<string, unknown>, key: string, text: string): void {
  if (text.trim() !== '') target[key] = numberOrText(text);
}

/**
 * The message for a field, from the API's `fields`: its own key, or a key below it (`payload.match.regex` belongs
 * to the `payload.match` field).
 */
export function fieldError(fields: Record<string, string>, ...names: string[]): string | undefined {
  for (const [key, message] of Object.entries(fields)) {
    if (names.some((name) => key === name || key.startsWith(`${name}.`))) return message;
  }
  return undefined;
}

/** The field names the http form shows errors next to; anything else goes to the form's summary. */
export const HTTP_FORM_FIELDS = [
  'name',
  'payload.url',
  'payload.method',
  'payload.headers',
  'payload.body',
  'payload.expect_status',
  'payload.match',
  'payload.items',
  'payload.max_body_bytes',
  'payload.request_timeout_ms',
  'payload.max_latency_ms',
  'payload.tls',
  'payload.json',
  'payload.expect_headers',
  'payload.extra',
  'schedule',
  'priority',
  'timeout_ms',
  'max_attempts',
  'notify',
] as const;

/** Errors no field of the form shows. */
export function unplacedErrors(fields: Record<string, string>): [string, string][] {
  return Object.entries(fields).filter(([key]) => !HTTP_FORM_FIELDS.some((name) => key === name || key.startsWith(`${name}.`)));
}
