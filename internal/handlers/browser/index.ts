export { type BrowserCheckOutput, runBrowserCheck } from './browser-check.js';
export { BrowserPool, type BrowserPoolOptions, CHROMIUM_FLAGS } from './browser-pool.js';
export { type BrowserTaskType, type BrowserTypeDeps, createBrowserType } from './browser-type.js';
export { CHROMIUM_CANDIDATES, type ChromiumLookup, findChromium } from './find-chromium.js';
export { type BlockedRequest, MAX_PAGE_REQUESTS, PageGuard } from './page-guard.js';
export { type BrowserPayload, type BrowserPayloadInput, DEFAULT_BROWSER_MAX_BODY_BYTES, browserPayloadSchema } from './payload-schema.js';
