import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestStore, createTestStore } from '../support/services.js';
import {
  type ApiProcess,
  type Target,
  createTaskViaApi,
  describeInBrowser,
  ensureDashboardBuilt,
  launchBrowser,
  screenshot,
  startApi,
  startTarget,
  watchedPage,
} from './support/dashboard.js';
import { counts, hasAttribute, hasText, isDisabled, shows, showsNo } from './support/page-expect.js';

/**
 * A monitor's life through the dashboard, on SQLite in polling mode: created with the form (after a refused bad
 * URL), watched going up and down, run now, paused and resumed; then tasks deleted in bulk from the list.
 */
describeInBrowser('dashboard: a monitor from creation to deletion (SQLite)', (chromiumPath) => {
  let testStore: TestStore;
  let api: ApiProcess;
  let target: Target;
  let context: BrowserContext;
  let closeBrowser: () => Promise<void>;
  let taskUrl: string;

  beforeAll(async () => {
    await ensureDashboardBuilt();
    [testStore, target] = await Promise.all([createTestStore('sqlite', 'ui_monitor'), startTarget()]);
    api = await startApi(testStore.env);
    ({ context, close: closeBrowser } = await launchBrowser(chromiumPath));
  }, 240_000);

  afterAll(async () => {
    await closeBrowser?.();
    await api?.stop();
    await target?.close();
    await testStore?.cleanup();
  });

  const stateOf = (page: Page) => page.getByRole('group', { name: 'State' });
  const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });

  it('creates an http task with the form, showing the server’s error next to a bad URL, and watches it go up', async () => {
    const { page, assertNoConsoleErrors } = await watchedPage(context);
    await page.goto(`${api.url}/`);
    await shows(page.getByRole('heading', { name: 'Overview' }));
    await shows(page.getByText(/Open access: this server has no API tokens/));
    await nav(page, 'New task').click();
    await shows(page.getByRole('heading', { name: 'New task' }));

    await page.getByLabel('Name', { exact: true }).fill('checkout health');
    await page.getByLabel('URL', { exact: true }).fill('not a url');
    await page.getByLabel('Every (seconds)').fill('1');
    await page.getByRole('button', { name: 'Create task' }).click();
    const url = page.getByLabel('URL', { exact: true });
    await hasAttribute(url, 'aria-invalid', 'true');
    await shows(page.getByText('must be an absolute URL such as https://example.com/health'));
    await hasText(page.getByRole('alert'), 'Fix the fields marked below');
    await screenshot(page, 'monitor-1-bad-url');

    await url.fill(target.url);
    await page.getByRole('button', { name: 'Create task' }).click();
    await shows(page.getByRole('heading', { name: 'checkout health' }));
    taskUrl = page.url();
    expect(taskUrl).toMatch(/\/ui\/tasks\/\d+$/);
    await shows(stateOf(page).getByText('up', { exact: true }), 15_000);
    await shows(page.getByRole('cell', { name: 'up 200' }).first());
    await screenshot(page, 'monitor-2-up');
    // The one refused create is the only failed request the page made.
    assertNoConsoleErrors([400]);
    await page.close();
  });

  it('shows the monitor down when its target fails, without a reload', async () => {
    const { page, assertNoConsoleErrors } = await watchedPage(context);
    await page.goto(taskUrl);
    await shows(stateOf(page).getByText('up', { exact: true }), 15_000);
    target.status = 503;
    await shows(stateOf(page).getByText('down', { exact: true }), 15_000);
    await shows(page.getByRole('cell', { name: /^down: / }).first());
    await nav(page, 'Overview').click();
    await shows(page.getByRole('region', { name: 'Down now' }).getByRole('link', { name: 'checkout health' }));
    await screenshot(page, 'monitor-3-down');
    target.status = 200;
    assertNoConsoleErrors();
    await page.close();
  });

  it('runs the task now: the run appears while it runs, then with its outcome', async () => {
    const { page, assertNoConsoleErrors } = await watchedPage(context);
    await page.goto(taskUrl);
    await shows(page.getByRole('heading', { name: 'Run history' }));
    // A slow target keeps the run in flight long enough to be seen running.
    target.delayMs = 2500;
    await page.getByRole('button', { name: 'Run now' }).click();
    await shows(page.getByRole('status').getByText('Run started.'));
    const firstManual = page.getByRole('row').filter({ hasText: 'manual' }).first();
    await hasText(firstManual, 'running', 10_000);
    // Pinned by its run id: periodic runs keep arriving above it.
    const runId = /#\d+/.exec((await firstManual.getByRole('rowheader').textContent()) ?? '')?.[0];
    expect(runId).toBeDefined();
    const manual = page.getByRole('row', { name: new RegExp(`^${runId} `) });
    await screenshot(page, 'monitor-4-run-now-running');
    target.delayMs = 0;
    await hasText(manual, 'succeeded', 15_000);
    await hasText(manual, 'up 200');
    await hasText(manual, 'manual');
    await screenshot(page, 'monitor-5-run-now-done');
    assertNoConsoleErrors();
    await page.close();
  });

  it('edits the task with the same form, and shows the server’s refusal next to the field', async () => {
    const { page, assertNoConsoleErrors } = await watchedPage(context);
    await page.goto(taskUrl);
    await page.getByRole('button', { name: 'Edit' }).click();
    await shows(page.getByRole('heading', { name: 'Edit' }));
    await page.getByLabel('Every (seconds)').fill('0');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await shows(page.getByText('must be at least 1 second'));
    await page.getByLabel('Every (seconds)').fill('2');
    await page.getByLabel('Name', { exact: true }).fill('checkout health (edited)');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await shows(page.getByRole('heading', { name: 'checkout health (edited)' }));
    await hasText(page.getByRole('region', { name: 'Configuration' }), 'every 2 s');
    await screenshot(page, 'monitor-6-edited');
    assertNoConsoleErrors([400]);
    await page.close();
  });

  it('pauses and resumes the task', async () => {
    const { page, assertNoConsoleErrors } = await watchedPage(context);
    await page.goto(taskUrl);
    await page.getByRole('button', { name: 'Pause' }).click();
    await shows(stateOf(page).getByText('paused', { exact: true }));
    await isDisabled(page.getByRole('button', { name: 'Run now' }));
    await nav(page, 'Tasks').click();
    await hasText(page.getByRole('row', { name: /checkout health/ }), 'paused');
    await screenshot(page, 'monitor-7-paused');
    await page.getByRole('link', { name: 'checkout health' }).click();
    await page.getByRole('button', { name: 'Resume' }).click();
    await shows(stateOf(page).getByText('active', { exact: true }));
    await shows(page.getByRole('button', { name: 'Pause' }));
    assertNoConsoleErrors();
    await page.close();
  });

  it('deletes several tasks at once from the list, found by a search', async () => {
    const a = await createTaskViaApi(api.url, { name: 'bulk old A', type: 'noop', schedule: { every: 3600 } });
    const b = await createTaskViaApi(api.url, { name: 'bulk old B', type: 'noop', schedule: { every: 3600 } });
    const { page, assertNoConsoleErrors } = await watchedPage(context);
    await page.goto(`${api.url}/ui/tasks`);
    await page.getByRole('searchbox', { name: 'Search by name' }).fill('bulk old');
    await showsNo(page.getByRole('row', { name: /checkout health/ }));
    await counts(page.getByRole('row', { name: /bulk old/ }), 2);
    await page.getByRole('checkbox', { name: 'Select bulk old A' }).check();
    await page.getByRole('checkbox', { name: 'Select bulk old B' }).check();
    await shows(page.getByText('2 tasks selected'));
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByRole('button', { name: 'Delete 2 tasks' }).click();
    await shows(page.getByRole('status').getByText('2 tasks deleted'));
    await showsNo(page.getByRole('row', { name: /bulk old/ }));
    await shows(page.getByText('No task matches.'));
    await screenshot(page, 'monitor-8-bulk-deleted');
    for (const { id } of [a, b]) expect((await fetch(`${api.url}/tasks/${id}`)).status).toBe(404);
    assertNoConsoleErrors();
    await page.close();
  });
});
