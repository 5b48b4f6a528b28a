import { readdirSync, readFileSync } from 'node:fs';
import { type ChromiumLookup, findChromium } from './find-chromium.js';

/**
 * Test-only helpers for the browser tests (nothing in production imports this file): finding Chromium and saying
 * loudly when it is missing, and finding the browser process this test process started, to kill it.
 */

/** The Chromium the tests use (APP_BROWSER_PATH, else the usual places), and a banner when there is none. */
export function chromiumForTests(): ChromiumLookup {
  const lookup = findChromium(process.env.APP_BROWSER_PATH);
  if (!lookup.found) {
    const line = '!'.repeat(100);
    console.warn(`\n${line}\n!! BROWSER TESTS SKIPPED: ${lookup.reason}\n!! CI installs Debian's chromium (.ci/run), so they run there.\n${line}\n`);
  }
  return lookup;
}

/**
 * PIDs of the Chromium browser processes (not their renderers) that are children of this process: Playwright
 * starts the browser with `--remote-debugging-pipe`, and the helpers it forks are children of the browser.
 */
export function chromiumBrowserPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name is in parentheses and may hold spaces; the parent pid is the second field after it.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes('--remote-debugging-pipe')) pids.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}
