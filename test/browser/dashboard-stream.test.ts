import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { deleteStreams } from '../support/children.js';
import { REDIS_ADDR, type TestStore, createTestStore, uniqueName, waitFor } from '../support/services.js';
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
import { hasText, shows, showsNo } from './support/page-expect.js';

/** The address the outbound policy denies in this file, so that a check of it fails its attempts (a dead letter). */
const DENIED = '127.0.0.2';

/**
 * The dashboard on MariaDB with Redis in stream mode: a check created with the form goes up, the queue page shows
 * the streams and their consumers, and dead letters are replayed and deleted from the page.
 */
describeInBrowser('dashboard: stream mode on MariaDB and Redis', (chromiumPath) => {
  let testStore: TestStore;
  let api: ApiProcess;
  let target: Target;
  let context: BrowserContext;
  let closeBrowser: () => Promise<void>;
  const stream = uniqueName('ui_stream');

  beforeAll(async () => {
    await ensureDashboardBuilt();
    [testStore, target] = await Promise.all([createTestStore('mysql', 'ui_stream'), startTarget()]);
    api = await startApi({
      ...testStore.env,
      REDIS_ADDR,
      APP_TASK_QUEUE_STREAM: stream,
      APP_HTTP_DENY_CIDRS: `${DENIED}/32`,
      APP_PENDING_IDLE: '1s',
    });
    ({ context, close: closeBrowser } = await launchBrowser(chromiumPath));
  }, 240_000);

  afterAll(async () => {
    await closeBrowser?.();
    await api?.stop();
    await target?.close();
    await deleteStreams(stream).catch(() => undefined);
    await testStore?.cleanup();
  });

  const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });

  it('creates a check with the form, sees it up, and sees the streams and their consumers', async () => {
    const { page, assertNoConsoleErrors } = await watchedPage(context);
    await page.goto(`${api.url}/ui/tasks/new`);
    await page.getByLabel('Name', { exact: true }).fill('orders API');
    await page.getByLabel('URL', { exact: true }).fill(target.url);
    await page.getByLabel('Every (seconds)').fill('1');
    await page.getByLabel('Priority').fill('4');
    await page.getByRole('button', { name: 'Create task' }).click();
    await shows(page.getByRole('heading', { name: 'orders API' }));
    await shows(page.getByRole('group', { name: 'State' }).getByText('up', { exact: true }), 15_000);

    await nav(page, 'Overview').click();
    await hasText(page.getByRole('region', { name: 'Health' }), 'redis_streams');
    await nav(page, 'Queue').click();
    await shows(page.getByText('stream mode (redis_streams)'));
    const p4 = page.getByRole('row', { name: new RegExp(`\\{${stream}\\}:p4`) });
    await shows(p4);
    // The embedded scheduler reads the stream as a consumer of the group.
    await hasText(p4, /pending, idle/, 15_000);
    await screenshot(page, 'stream-1-queue');
    assertNoConsoleErrors();
    await page.close();
  });

  it('replays a dead letter, and deletes dead letters in bulk', async () => {
    const failing = await createTaskViaApi(api.url, {
      name: 'forbidden target',
      type: 'http',
      schedule: { every: 3600 },
      max_attempts: 1,
      payload: { url: `http://${DENIED}:9/` },
    });
    const letterOf = async () => {
      const res = await fetch(`${api.url}/queue/dead`);
      const body = (await res.json()) as { items: { id: number; task_id: number }[] };
      return body.items.find((d) => d.task_id === failing.id);
    };
    const first = await waitFor(letterOf, { timeoutMs: 20_000, message: 'a dead letter' });

    const { page, assertNoConsoleErrors } = await watchedPage(context);
    await page.goto(`${api.url}/ui/queue`);
    const row = page.getByRole('row', { name: new RegExp(`(^| )#${first.id} `) });
    await hasText(row, 'attempts exhausted');
    await page.getByLabel('Reason').selectOption('malformed');
    await showsNo(row);
    await page.getByLabel('Reason').selectOption('attempts_exhausted');
    await shows(row);
    await screenshot(page, 'stream-2-dead-letter');

    await page.getByRole('button', { name: `Replay dead letter ${first.id}` }).click();
    await shows(page.getByRole('status').filter({ hasText: '1 dead letter replayed' }));
    await showsNo(row);
    // The slot ran again (and, its target still denied, failed again into a new dead letter).
    const second = await waitFor(async () => {
      const letter = await letterOf();
      return letter !== undefined && letter.id !== first.id ? letter : undefined;
    }, { timeoutMs: 20_000, message: 'the replayed slot to end' });
    const runs = (await (await fetch(`${api.url}/tasks/${failing.id}/runs`)).json()) as { items: { source: string }[] };
    expect(runs.items.map((r) => r.source)).toContain('manual');
    await shows(page.getByRole('row', { name: new RegExp(`(^| )#${second.id} `) }));

    await page.getByRole('checkbox', { name: 'Select every dead letter on this page' }).check();
    await page.getByRole('button', { name: 'Delete selected' }).click();
    await page.getByRole('button', { name: 'Delete selected' }).click();
    await shows(page.getByRole('status').filter({ hasText: /dead letters? deleted/ }));
    await shows(page.getByText('No dead letter with reason attempts exhausted.'));
    await screenshot(page, 'stream-3-dead-letters-deleted');
    expect(await letterOf()).toBeUndefined();
    assertNoConsoleErrors();
    await page.close();
  });
});
