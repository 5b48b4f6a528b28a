import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Page } from 'playwright-core';
import { buildCheckReport, type CheckReport } from '../checks/check-report.js';
import { carriedMemory, type CheckMemory } from '../checks/check-memory.js';
import { PeerCertificates } from '../checks/tls-expiry.js';
import { responseFacts } from '../checks/verdict.js';
import { eventsFor } from '../events.js';
import { requestTimeoutFor } from '../http/http-check.js';
import { DeniedAddressError, OutboundNetworkError, RedirectError } from '../outbound/errors.js';
import type { OutboundPolicy } from '../outbound/outbound-policy.js';
import type { BrowserPool } from './browser-pool.js';
import { type BlockedRequest, PageGuard } from './page-guard.js';
import type { BrowserPayload } from './payload-schema.js';

/** What the API shows for a run of a `browser` task: the shared check fields and the page's own. */
export interface BrowserCheckOutput extends CheckReport {
  /** The status of the page's own document; null when it never arrived. */
  status_code: number | null;
  /** The page's own document: from sending its request to the end of its body. `max_latency_ms` applies to this. */
  latency_ms: number;
  /** From navigating to the page being read (load event, then `wait_for`). */
  render_ms: number;
  /** Bytes of the page's own document. */
  bytes: number;
  truncated: boolean;
  /** sha256 hex of the rendered HTML; null when nothing rendered. */
  content_hash: string | null;
  /** Where the page's own document finally came from, when redirects were followed. */
  final_url?: string;
  /** Requests the page made (its own included). */
  requests: number;
  /** Requests refused (a denied address, a WebSocket, …): how many, and the first 20. */
  blocked_requests?: { count: number; first: BlockedRequest[] };
}

export interface BrowserCheckDeps {
  signal: AbortSignal;
  /** The task's `timeout_ms`; the render timeout is derived from it as the `http` type's request timeout is. */
  timeoutMs: number;
  policy: OutboundPolicy;
  pool: BrowserPool;
  memory: CheckMemory | null;
  now?: () => number;
}

/**
 * Renders one page and checks it. The page's own document gives the status, headers, latency and certificate; the
 * rendered HTML (after `wait_for`) gives the body match, the content hash and the items.
 *
 * As with `http`, a down target is a result (`up: false`, `reason`): a failing check, a network error, a page that
 * does not load in time (`request timed out …`), a `wait_for` selector that never appears (`wait_for_timeout`).
 * The attempt fails when the page's own URL is denied (`DeniedAddressError`), on a bad redirect, a runaway
 * pattern, the task's own abort, or a browser that died while rendering (the next attempt starts a new one).
 */
export async function runBrowserCheck(payload: BrowserPayload, deps: BrowserCheckDeps): Promise<{ output: BrowserCheckOutput; memory: CheckMemory }> {
  const { signal, memory } = deps;
  const now = deps.now ?? Date.now;
  signal.throwIfAborted();
  const renderTimeoutMs = requestTimeoutFor(payload.request_timeout_ms, deps.timeoutMs);
  const certificates = new PeerCertificates();
  const dispatcher = deps.policy.createDispatcher({
    ...(payload.tls?.ca === undefined ? {} : { extraCa: [payload.tls.ca] }),
    onSecureConnect: certificates.record,
  });
  try {
    return await deps.pool.withPage(signal, async (context, page) => {
      const guard = new PageGuard({
        page,
        policy: deps.policy,
        dispatcher,
        signal,
        maxBodyBytes: payload.max_body_bytes,
        documentHeaders: payload.headers,
      });
      await guard.attach(context);
      const started = performance.now();
      const deadline = started + renderTimeoutMs;
      const elapsed = () => Math.round(performance.now() - started);

      let loadError: unknown;
      try {
        await page.goto(payload.url, { timeout: renderTimeoutMs, waitUntil: 'load' });
      } catch (err) {
        loadError = err;
      }
      const { mainError } = guard;
      if (mainError instanceof DeniedAddressError || mainError instanceof RedirectError) throw mainError;
      signal.throwIfAborted();
      const main = guard.main;
      if (main === undefined) {
        const reason = mainError instanceof OutboundNetworkError ? `network error: ${mainError.message}` : `request timed out after ${renderTimeoutMs} ms`;
        return down(reason, elapsed(), guard, memory);
      }
      if (loadError !== undefined) {
        if (!isTimeout(loadError)) throw loadError;
        return down(`request timed out after ${renderTimeoutMs} ms (the page did not finish loading)`, elapsed(), guard, memory, main.response.status);
      }

      const waited = payload.wait_for === undefined ? true : await waitFor(page, payload.wait_for, deadline);
      const html = await page.content();
      const renderMs = elapsed();
      const contentHash = createHash('sha256').update(html).digest('hex');
      const { response } = main;
      const { report, memory: next } = buildCheckReport({
        specs: payload,
        facts: responseFacts(response, {
          matchText: () => html,
          latencyMs: main.latencyMs,
          cert: certificates.factsFor(response.finalUrl, now()),
        }),
        contentHash,
        itemsSource: html,
        pageUrl: response.finalUrl,
        memory,
        // What the page was expected to show is not there: neither its content nor its items can be trusted.
        failure:
          waited || payload.wait_for === undefined || !('selector' in payload.wait_for)
            ? undefined
            : {
                reason: 'wait_for_timeout',
                detail: `wait_for.selector ${JSON.stringify(payload.wait_for.selector)} did not appear within ${renderTimeoutMs} ms`,
              },
      });
      const { up, reason, detail, changed, events, ...rest } = report;
      const output: BrowserCheckOutput = {
        up,
        ...(reason === undefined ? {} : { reason }),
        ...(detail === undefined ? {} : { detail }),
        status_code: response.status,
        latency_ms: main.latencyMs,
        render_ms: renderMs,
        bytes: response.bytes,
        truncated: response.truncated,
        content_hash: contentHash,
        changed,
        ...(response.redirects > 0 ? { final_url: response.finalUrl } : {}),
        requests: guard.requests,
        ...blockedOf(guard),
        ...rest,
        events,
      };
      return { output, memory: next };
    });
  } finally {
    dispatcher.destroy().catch(() => undefined);
  }
}

/** Waits for `wait_for` until `deadline`; false when a selector did not appear in time. */
async function waitFor(page: Page, spec: NonNullable<BrowserPayload['wait_for']>, deadline: number): Promise<boolean> {
  const remaining = Math.max(1, Math.round(deadline - performance.now()));
  if ('delay_ms' in spec) {
    await page.waitForTimeout(Math.min(spec.delay_ms, remaining));
    return true;
  }
  try {
    await page.waitForSelector(spec.selector, { state: 'attached', timeout: remaining });
    return true;
  } catch (err) {
    if (isTimeout(err)) return false;
    throw err;
  }
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && err.name === 'TimeoutError';
}

function blockedOf(guard: PageGuard): Pick<BrowserCheckOutput, 'blocked_requests'> {
  return guard.blockedCount === 0 ? {} : { blocked_requests: { count: guard.blockedCount, first: [...guard.blocked] } };
}

/** A page that could not be read: no document, or it never finished loading. */
function down(
  reason: string,
  renderMs: number,
  guard: PageGuard,
  memory: CheckMemory | null,
  status: number | null = null,
): { output: BrowserCheckOutput; memory: CheckMemory } {
  const output: BrowserCheckOutput = {
    up: false,
    reason,
    status_code: status,
    latency_ms: guard.main?.latencyMs ?? renderMs,
    render_ms: renderMs,
    bytes: guard.main?.response.bytes ?? 0,
    truncated: guard.main?.response.truncated ?? false,
    content_hash: null,
    changed: false,
    requests: guard.requests,
    ...blockedOf(guard),
    events: eventsFor({ previousUp: memory?.up, up: false, changed: false, newItems: 0, certExpiring: false }),
  };
  return { output, memory: { ...carriedMemory(memory), up: false } };
}
