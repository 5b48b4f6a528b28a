import { eventsFor, type NotifyEvent } from '../events.js';
import { extractItems } from '../items/extract-items.js';
import type { ItemsSpec } from '../items/items-schema.js';
import { detectNewItems } from '../items/new-items.js';
import { extractHtmlItems } from '../items/html-items.js';
import { carriedMemory, type CheckMemory } from './check-memory.js';
import type { HeaderFailure } from './header-checks.js';
import type { JsonConditionFailure } from './json-conditions.js';
import { certExpiring } from './tls-expiry.js';
import { type CheckSpecs, judge, type ResponseFacts } from './verdict.js';

/**
 * The part of a run's output that the `http` and `browser` types share: the verdict of every check, change and
 * new-item detection, certificate facts, and the events since the previous run. Each type adds its own fields
 * (status code, bytes, redirects, …).
 */
export interface CheckReport {
  up: boolean;
  /** Why the target is down; present exactly when `up` is false. */
  reason?: string;
  /** A sentence explaining a short `reason` (`slow`, `cert_expiring`, `json_condition`, `header_mismatch`, `no_items`, `not_a_feed`). */
  detail?: string;
  /** The body differs from the last one seen while up. False on the first run, and while down. */
  changed: boolean;
  /** With an https target: the certificate's notAfter (ISO-8601) and whole days left, on every run. */
  cert_expires_at?: string;
  cert_days_left?: number;
  header_failures?: HeaderFailure[];
  json_failures?: JsonConditionFailure[];
  /** With `payload.items`, when the target is up and the items could be read: how many are new, and the first 20. */
  new_items?: { count: number; first: unknown[] };
  /** With `payload.items`, when the items could not be read but that does not make the target down. */
  items_error?: string;
  /** Transitions since the previous run, in the order of `NOTIFY_EVENTS`. */
  events: NotifyEvent[];
}

export interface CheckReportInput {
  specs: CheckSpecs & { items?: ItemsSpec | undefined };
  facts: ResponseFacts;
  /** sha256 hex of the body compared between runs. */
  contentHash: string;
  /** Where the items are read from: the response body (`http`), or the rendered HTML (`browser`). */
  itemsSource: Buffer | string;
  /** The URL the page was finally read from; relative item URLs are resolved against it. */
  pageUrl: string;
  memory: CheckMemory | null;
  /**
   * A failure the type found itself, judged right after the checks (so a wrong status still comes first): the
   * `browser` type's `wait_for` selector that never appeared.
   */
  failure?: { reason: string; detail: string } | undefined;
}

/**
 * Judges a response and works out what changed since the previous run. Items are read only while the other checks
 * pass: a down target's body is an error page, neither the content to compare later nor a list to read. An HTML
 * selector that matches nothing, or a body that is no feed, then makes the target down (`no_items`,
 * `not_a_feed`).
 *
 * @throws {RegexTimeoutError} a pattern of the task ran past its time limit.
 */
export function buildCheckReport(input: CheckReportInput): { report: CheckReport; memory: CheckMemory } {
  const { specs, facts, memory } = input;
  const verdict = judge(specs, facts);
  let reason = verdict.reason ?? input.failure?.reason;
  let detail = verdict.reason === undefined ? input.failure?.detail : verdict.detail;

  let detected: { count: number; first: unknown[]; seenIds: string[] } | undefined;
  let itemsError: string | undefined;
  if (specs.items !== undefined && reason === undefined) {
    const extraction = readItems(input.itemsSource, specs.items, facts.truncated, input.pageUrl);
    if (extraction.ok) {
      detected = detectNewItems(extraction.items, memory?.seen_ids);
    } else if (extraction.down !== undefined) {
      reason = extraction.down;
      detail = extraction.error;
    } else {
      // The last ids are kept, so nothing is reported twice once the items can be read again.
      itemsError = extraction.error;
    }
  }

  const up = reason === undefined;
  const changed = up && memory?.hash !== undefined && memory.hash !== input.contentHash;
  const next: CheckMemory = { ...carriedMemory(memory), up };
  if (up) next.hash = input.contentHash;
  if (detected !== undefined && up) next.seen_ids = detected.seenIds;

  // Once per certificate, whether the target is up or down: a renewed certificate that is again short-lived is news.
  const cert = facts.cert;
  const certNews = cert !== null && certExpiring(cert, specs.tls?.min_days_left) && memory?.cert_reported !== cert.fingerprint;
  if (certNews) next.cert_reported = cert.fingerprint;

  const report: CheckReport = {
    up,
    ...(reason === undefined ? {} : { reason }),
    ...(detail === undefined || reason === undefined ? {} : { detail }),
    changed,
    ...(cert === null ? {} : { cert_expires_at: cert.expiresAt.toISOString(), cert_days_left: cert.daysLeft }),
    ...(verdict.header_failures === undefined ? {} : { header_failures: verdict.header_failures }),
    ...(verdict.json_failures === undefined ? {} : { json_failures: verdict.json_failures }),
    ...(detected === undefined || !up ? {} : { new_items: { count: detected.count, first: detected.first } }),
    ...(itemsError === undefined ? {} : { items_error: itemsError }),
    events: eventsFor({
      previousUp: memory?.up,
      up,
      changed,
      newItems: detected !== undefined && up ? detected.count : 0,
      certExpiring: certNews,
    }),
  };
  return { report, memory: next };
}

function readItems(source: Buffer | string, spec: ItemsSpec, truncated: boolean, pageUrl: string) {
  if (typeof source !== 'string') return extractItems(source, spec, { truncated, pageUrl });
  // A rendered page: only HTML items apply (the schema of the `browser` type allows no other form).
  if ('selector' in spec) return extractHtmlItems(source, spec, pageUrl);
  return { ok: false as const, error: 'only HTML items (items.selector) can be read from a rendered page' };
}
