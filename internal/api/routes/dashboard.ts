import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Response, Router } from 'express';
import { NotFoundError } from '../errors.js';

/** Where the dashboard's files are, and whether it may act. */
export interface DashboardOptions {
  /** The folder Vite builds (`dist/web`); undefined or missing means the dashboard was not built. */
  dir: string | undefined;
  /** APP_UI_READ_ONLY. */
  readOnly: boolean;
}

/** Hashed file names change with their content, so a browser may keep them for good. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
/** index.html names the hashed files of the current build: always asked again (a 304 when unchanged). */
const REVALIDATE = 'no-cache';

/**
 * The page may load only its own scripts and styles and talk only to this server. uPlot and React set inline styles
 * through the DOM, which `style-src 'unsafe-inline'` allows; no inline script is ever needed.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/**
 * Serves the dashboard at `/ui/` from the files Vite built, and redirects `/` there. Any `/ui/…` path without a
 * file extension is a page of the single-page app (a deep link such as `/ui/tasks/12`) and gets index.html; a
 * missing asset is a 404. The folder is looked at per request, so a build that finishes after the server started
 * (`make dev` builds while the API starts) is served at once. Served without a token: the page itself asks for
 * one, and holds no data until the API answers it.
 */
export function dashboardRouter(options: DashboardOptions | undefined): Router {
  const router = Router();
  const dir = options?.dir;

  router.get('/', (_req, res) => {
    res.redirect(302, '/ui/');
  });

  if (dir !== undefined) {
    router.use(
      '/ui',
      express.static(dir, {
        index: false,
        redirect: false,
        setHeaders: (res, path) => {
          res.setHeader('Cache-Control', path.includes(`${join(dir, 'assets')}`) ? IMMUTABLE : REVALIDATE);
          res.setHeader('X-Content-Type-Options', 'nosniff');
        },
      }),
    );
  }

  const sendIndex = (res: Response): void => {
    const index = dir === undefined ? undefined : join(dir, 'index.html');
    if (index === undefined || !existsSync(index)) {
      res.status(503).setHeader('Cache-Control', 'no-store').type('html').send(NOT_BUILT_PAGE);
      return;
    }
    res.setHeader('Cache-Control', REVALIDATE);
    res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.sendFile(index, { headers: {}, lastModified: true, etag: true }, (err) => {
      if (err !== undefined && !res.headersSent) res.status(503).type('html').send(NOT_BUILT_PAGE);
    });
  };

  // Registered without the slash (a trailing slash is optional to express), as the API description names it.
  router.get('/ui', (req, res) => {
    // `/ui` and `/ui/` both reach this route; the page's links are relative to `/ui/`.
    if (!req.originalUrl.split('?')[0]?.endsWith('/')) {
      res.redirect(301, `/ui/${req.originalUrl.slice('/ui'.length).replace(/^\/?/, '')}`);
      return;
    }
    sendIndex(res);
  });

  router.use('/ui', (req, res, next) => {
    const last = req.path.split('/').pop() ?? '';
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    // A file the build does not have is a 404 here, not a page, and not a 401 from the API behind.
    if (last.includes('.')) return next(new NotFoundError(`no dashboard file ${req.path.slice(0, 200)}`));
    sendIndex(res);
  });

  return router;
}

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vigil: dashboard not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; line-height: 1.5">
<h1>The dashboard has not been built</h1>
<p>This server runs from sources, and the dashboard's files (<code>dist/web</code>) are not there yet.
Build them with <code>make build</code> (or <code>npm run build:web</code>), then reload this page.
<code>make dev</code> builds them for you and rebuilds them on every change.</p>
<p>The API itself works: try <a href="/healthz">/healthz</a> or <a href="/openapi.json">/openapi.json</a>.</p>
</body></html>
`;
