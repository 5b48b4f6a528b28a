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

  it('is reachable by keyboard, fits a phone’s width, and follows a dark system theme', async () => {
    const { page, assertNoConsoleErrors } = await watchedPage(context);
    await page.goto(`${readOnly.url}/ui/`);
    await shows(page.getByRole('heading', { name: 'Overview' }));
    // The first Tab lands on the skip link, then the navigation follows in order.
    // Expressions as strings: they run in the page, and this project's types have no DOM.
    const inPage = <T>(expression: string) => page.evaluate(expression) as Promise<T>;
    const focused = () => inPage<string>("document.activeElement?.textContent?.trim() ?? ''");
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Skip to content');
    const reached: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      await page.keyboard.press('Tab');
      reached.push(await focused());
    }
    expect(reached).toEqual(['Vigil', 'Overview', 'Tasks', 'Queue']);
    // The skip link moves focus past the navigation, to the page's content.
    await page.reload();
    await shows(page.getByRole('heading', { name: 'Overview' }));
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    expect(await inPage<string>('document.activeElement?.id')).toBe('main');
    await page.keyboard.press('Tab');
    expect(await inPage<boolean>("document.getElementById('main').contains(document.activeElement)")).toBe(true);

    const pages = [['/ui/', 'Overview'], ['/ui/tasks', 'Tasks'], ['/ui/queue', 'Dead letters'], [`/ui/tasks/${taskId}`, 'Run history']];
    for (const [path, heading] of pages as [string, string][]) {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${readOnly.url}${path}`);
      await shows(page.getByRole('heading', { name: heading, exact: true }));
      // Wide tables scroll inside their box; the page itself never scrolls sideways.
      expect(await inPage<number>('document.documentElement.scrollWidth'), path).toBeLessThanOrEqual(390);
    }
    await screenshot(page, 'access-4-phone-task');

    await page.setViewportSize({ width: 1280, height: 900 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${readOnly.url}/ui/`);
    await shows(page.getByRole('heading', { name: 'Overview' }));
    expect(await inPage<string>('document.documentElement.dataset.theme')).toBe('dark');
    const background = await inPage<string>('getComputedStyle(document.body).backgroundColor');
    const [r, g, b] = (background.match(/\d+/g) ?? []).map(Number);
    expect((r ?? 255) + (g ?? 255) + (b ?? 255)).toBeLessThan(150);
    await screenshot(page, 'access-5-dark');
    assertNoConsoleErrors();
    await page.close();
  });
});
