import { extractFeedItems } from './feed-items.js';
import { extractHtmlItems } from './html-items.js';
import type { ItemsSpec } from './items-schema.js';
import { extractJsonItems, type ItemsExtraction } from './new-items.js';

/** What the extractors need to know about the body besides its bytes. */
export interface BodyContext {
  /** The body was cut at `max_body_bytes`: its items cannot be trusted to be all there. */
  truncated: boolean;
  /** Where the body was finally read from (after redirects); relative URLs are resolved against it. */
  pageUrl: string;
}

/**
 * Reads the items of a body by the form of `items`: a JSON array, HTML by selector, or a feed. A cut body is never
 * read: the items past the cut would look removed, and come back as new once the page shrinks.
 */
export function extractItems(body: Buffer, spec: ItemsSpec, context: BodyContext): ItemsExtraction {
  if (context.truncated) {
    return {
      ok: false,
      error: `body was cut at max_body_bytes (${body.length} bytes), so its items cannot be read; raise max_body_bytes`,
    };
  }
  if ('feed' in spec) return extractFeedItems(body, context.pageUrl);
  if ('selector' in spec) return extractHtmlItems(body, spec, context.pageUrl);
  return extractJsonItems(body, spec, false);
}
