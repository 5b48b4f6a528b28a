import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestStore, createTestStore } from '../support/services.js';
import {
  type ApiProcess,
  createTaskViaApi,
  describeInBrowser,
  ensureDashboardBuilt,
  launchBrowser,
  screenshot,
  startApi,
  watchedPage,
} from './support/dashboard.js';
import { counts, hasText, shows, showsNo } from './support/page-expect.js';

const TOKEN = 'ui-test-token-1f2e3d';

/**
 * Who may do what: a server with APP_API_TOKENS asks for a token (a wrong one gets a message, the right one opens
 * the dashboard); a server with APP_UI_READ_ONLY shows everything, offers no action, and refuses the dashboard's
 * changes. Two API processes on one SQLite file, as several processes would share a database.
 */
describeInBrowser('dashboard: token prompt and read-only mode (SQLite)', (chromiumPath) => {
  let testStore: TestStore;
  let withTokens: ApiProcess;
  let readOnly: ApiProcess;
  let context: BrowserContext;
  let closeBrowser: () => Promise<void>;
  let taskId: number;

  beforeAll(async () => {
    await ensureDashboardBuilt();
    testStore = await createTestStore('sqlite', 'ui_access');
    [withTokens, readOnly] = await Promise.all([
      startApi({ ...testStore.env, APP_API_TOKENS: `${TOKEN},another-token` }),
      startApi({ ...testStore.env, APP_UI_READ_ONLY: 'true', APP_RUN_SCHEDULER: 'false' }),
    ]);
    ({ id: taskId } = await createTaskViaApi(withTokens.url, { name: 'nightly export', type: 'noop', schedule: { every: 3600 } }, TOKEN));
    ({ context, close: closeBrowser } = await launchBrowser(chromiumPath));
  }, 240_000);

  afterAll(async () => {
    await closeBrowser?.();
    await withTokens?.stop();
    await readOnly?.stop();
    await testStore?.cleanup();
  });

  const tokenField = (page: Page) => page.getByLabel('API token');

  it('asks for a token, says clearly when it is wrong, and opens with the right one', async () => {
    const { page, assertNoConsoleErrors } = await watchedPage(context);
    await page.goto(`${withTokens.url}/ui/tasks`);
    await shows(page.getByRole('heading', { name: 'Sign in with an API token' }));
    await tokenField(page).fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await hasText(page.getByRole('alert'), 'That token was not accepted');
    await screenshot(page, 'access-1-wrong-token');

    await tokenField(page).fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await shows(page.getByRole('heading', { name: 'Tasks' }));
    await shows(page.getByRole('link', { name: 'nightly export' }));
    // Tokens are set, so there is no open-access warning.
    await showsNo(page.getByText(/Open access/));
    await screenshot(page, 'access-2-signed-in');

    // A reload keeps the token; signing out forgets it.
    await page.reload();
    await shows(page.getByRole('link', { name: 'nightly export' }));
    await page.getByRole('button', { name: 'Sign out' }).click();
    await shows(page.getByRole('heading', { name: 'Sign in with an API token' }));
    // No request was refused: /info says whether a token works, so a wrong one is no 401 in the console.
    assertNoConsoleErrors();
    await page.close();
  });

  it('in read-only mode shows everything, offers no action, and the API refuses the dashboard’s changes', async () => {
    const { page, assertNoConsoleErrors } = await watchedPage(context);
    await page.goto(`${readOnly.url}/ui/`);
    await shows(page.getByText(/Read-only dashboard/));
    await shows(page.getByText(/Open access: this server has no API tokens/));
    await showsNo(page.getByRole('link', { name: 'New task' }));

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tasks', exact: true }).click();
    await shows(page.getByRole('link', { name: 'nightly export' }));
    await counts(page.getByRole('checkbox'), 0);
    await showsNo(page.getByRole('button', { name: 'Delete' }));

    await page.getByRole('link', { name: 'nightly export' }).click();
    await shows(page.getByRole('heading', { name: 'nightly export' }));
    await shows(page.getByRole('heading', { name: 'Run history' }));
    for (const name of ['Run now', 'Pause', 'Edit', 'Delete']) await counts(page.getByRole('button', { name, exact: true }), 0);
    await screenshot(page, 'access-3-read-only-task');

    await page.goto(`${readOnly.url}/ui/tasks/new`);
    await shows(page.getByRole('heading', { name: 'Read-only' }));
    await counts(page.getByRole('button', { name: 'Create task' }), 0);

    await page.goto(`${readOnly.url}/ui/queue`);
    await shows(page.getByRole('heading', { name: 'Dead letters' }));
    await counts(page.getByRole('button', { name: /Replay/ }), 0);
    assertNoConsoleErrors();
    await page.close();

    // What the page would send, refused: the dashboard marks its requests, and a read-only server refuses them.
    const asDashboard = await fetch(`${readOnly.url}/tasks/${taskId}/run`, { method: 'POST', headers: { 'X-Vigil-Client': 'dashboard' } });
    expect(asDashboard.status).toBe(403);
    expect(((await asDashboard.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    const patch = await fetch(`${readOnly.url}/tasks/${taskId}`, {
      method: 'PATCH',
      headers: { 'X-Vigil-Client': 'dashboard', 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'paused' }),
    });
    expect(patch.status).toBe(403);
    expect(((await (await fetch(`${readOnly.url}/tasks/${taskId}`)).json()) as { status: string }).status).toBe('running');
  });
});
