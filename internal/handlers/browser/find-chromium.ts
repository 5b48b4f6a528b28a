import { accessSync, constants } from 'node:fs';

/** Where Chromium is looked for when `APP_BROWSER_PATH` is not set: Debian's package first. */
export const CHROMIUM_CANDIDATES: readonly string[] = Object.freeze([
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome-stable',
  '/usr/bin/google-chrome',
]);

export type ChromiumLookup = { found: true; path: string } | { found: false; reason: string };

/**
 * The Chromium the `browser` type will run: `configured` (APP_BROWSER_PATH) when set, else the first executable of
 * {@link CHROMIUM_CANDIDATES}. When there is none, `reason` says where it looked and what to do; the type is then
 * not registered, and a task of that type is refused with that reason.
 */
export function findChromium(configured: string | undefined, candidates: readonly string[] = CHROMIUM_CANDIDATES): ChromiumLookup {
  if (configured !== undefined) {
    return isExecutable(configured)
      ? { found: true, path: configured }
      : { found: false, reason: `no Chromium found at ${configured} (APP_BROWSER_PATH); install chromium or point APP_BROWSER_PATH at it` };
  }
  const path = candidates.find(isExecutable);
  if (path !== undefined) return { found: true, path };
  return { found: false, reason: `no Chromium found at ${candidates.join(', ')}; install chromium or set APP_BROWSER_PATH` };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
