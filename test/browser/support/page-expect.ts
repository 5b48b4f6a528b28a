import type { Locator } from 'playwright-core';
import { waitFor } from '../../support/services.js';

/**
 * Web-first assertions for playwright-core under vitest (the `expect` of @playwright/test belongs to its own
 * runner): each waits, up to a deadline, for the page to reach the state, because a live page gets there on its
 * next refresh.
 */

const DEFAULT_MS = 10_000;

/** Waits until the locator is visible (the first match, when `first`). */
export async function shows(locator: Locator, timeoutMs = DEFAULT_MS): Promise<void> {
  await locator.first().waitFor({ state: 'visible', timeout: timeoutMs });
}

/** Waits until nothing matching the locator is visible. */
export async function showsNo(locator: Locator, timeoutMs = DEFAULT_MS): Promise<void> {
  await waitFor(async () => (await locator.count()) === 0 || !(await locator.first().isVisible()), {
    timeoutMs,
    message: `${String(locator)} to disappear`,
  });
}

/** Waits until the locator's text contains `text` (or matches it). */
export async function hasText(locator: Locator, text: string | RegExp, timeoutMs = DEFAULT_MS): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      last = (await locator.first().textContent({ timeout: 1000 }).catch(() => null)) ?? '';
      return typeof text === 'string' ? last.includes(text) : text.test(last);
    },
    { timeoutMs, message: `${String(locator)} to contain ${String(text)} (last seen: ${JSON.stringify(last.slice(0, 300))})` },
  );
}

/** Waits until exactly `n` elements match. */
export async function counts(locator: Locator, n: number, timeoutMs = DEFAULT_MS): Promise<void> {
  let last = -1;
  await waitFor(
    async () => {
      last = await locator.count();
      return last === n;
    },
    { timeoutMs, message: `${String(locator)} to match ${n} elements (last: ${last})` },
  );
}

/** Waits until the element's attribute has the value. */
export async function hasAttribute(locator: Locator, name: string, value: string, timeoutMs = DEFAULT_MS): Promise<void> {
  await waitFor(async () => (await locator.first().getAttribute(name, { timeout: 1000 }).catch(() => null)) === value, {
    timeoutMs,
    message: `${String(locator)} to have ${name}="${value}"`,
  });
}

/** Waits until the control is disabled (or enabled). */
export async function isDisabled(locator: Locator, disabled = true, timeoutMs = DEFAULT_MS): Promise<void> {
  await waitFor(async () => (await locator.first().isDisabled({ timeout: 1000 }).catch(() => !disabled)) === disabled, {
    timeoutMs,
    message: `${String(locator)} to be ${disabled ? 'disabled' : 'enabled'}`,
  });
}
