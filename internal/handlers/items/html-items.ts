import { type CheerioAPI, load, loadBuffer } from 'cheerio';
import type { FeedItem, ItemsExtraction } from './new-items.js';
import { MAX_SEEN_IDS } from './new-items.js';
import type { HtmlItemsSpec, ItemFieldSpec } from './items-schema.js';

/** Longest field value (and id) kept, in characters; longer ones end in `…`. Run outputs and messages stay small. */
export const MAX_FIELD_CHARS = 1_000;
/**
 * Characters of all the values of one item together: with 20 items reported per run, a run's `new_items` stays
 * under about 100 KB however many fields a task reads. Fields past the budget are cut shorter, in the order written.
 */
export const MAX_ITEM_CHARS = 4_000;

/**
 * Attributes whose value is a URL, made absolute against the page (its `<base href>` if it has one, else the URL it
 * was finally read from), so that a reported link works wherever the notification is read.
 */
const URL_ATTRIBUTES = new Set(['href', 'src', 'action', 'poster', 'cite', 'data', 'data-href', 'data-src', 'data-url']);

/** A cheerio selection (what `$(…)` returns). */
type Selection = ReturnType<CheerioAPI>;

/** An HTML item as a run reports it: its id and its named fields (null where a field's selector found nothing). */
export type HtmlItem = { id: string } & Record<string, string | null>;

/**
 * Reads the items of an HTML page. A pure function of the page: no network, no clock.
 *
 * - `selector` selects the items, in document order; only the first {@link MAX_SEEN_IDS} count.
 * - `id` (a field spec) identifies each; without it, an item is its whole text (so a changed text is a new item).
 *   Items with no id are skipped; duplicate ids count once.
 * - each field is the text of the first element its selector matches within the item (whitespace collapsed), or an
 *   attribute of it; URL attributes are resolved against the page.
 *
 * A selector that matches nothing is a failure with `down: 'no_items'` unless `allow_empty` is set: a layout change
 * that breaks the selector must not look like a quiet page.
 *
 * @param page the HTML, as text or as bytes (bytes are decoded by their `<meta charset>`, or as UTF-8).
 * @param pageUrl the URL the page was read from, after redirects; relative URLs are resolved against it.
 */
export function extractHtmlItems(page: string | Buffer, spec: HtmlItemsSpec, pageUrl: string): ItemsExtraction {
  const $ = typeof page === 'string' ? load(page) : loadBuffer(page);
  const base = baseUrl($, pageUrl);
  const elements = $(spec.selector).toArray();
  if (elements.length === 0) {
    if (spec.allow_empty === true) return { ok: true, items: [] };
    return { ok: false, down: 'no_items', error: `items.selector ${JSON.stringify(spec.selector)} matched nothing` };
  }
  const fieldEntries = Object.entries(spec.fields ?? {});
  const items: FeedItem[] = [];
  const ids = new Set<string>();
  for (const element of elements.slice(0, MAX_SEEN_IDS)) {
    const node = $(element);
    const id = spec.id === undefined ? cap(collapse(node.text())) : readField(node, spec.id, base);
    if (id === null || id === '' || ids.has(id)) continue;
    ids.add(id);
    const item: HtmlItem = { id };
    let budget = MAX_ITEM_CHARS - id.length;
    for (const [name, field] of fieldEntries) {
      const value = readField(node, field, base);
      item[name] = value === null ? null : cap(value, Math.max(1, Math.min(MAX_FIELD_CHARS, budget)));
      budget -= item[name]?.length ?? 0;
    }
    items.push({ id, item });
  }
  if (items.length === 0) {
    return {
      ok: false,
      down: 'no_items',
      error: `items.id found no id in any of the ${elements.length} elements matched by ${JSON.stringify(spec.selector)}`,
    };
  }
  return { ok: true, items };
}

/** One field of an item: text or attribute of the first match (or of the item itself), capped; null when absent. */
function readField(item: Selection, field: ItemFieldSpec, base: string): string | null {
  const selector = typeof field === 'string' ? field : field.selector;
  const attr = typeof field === 'string' ? undefined : field.attr;
  const target = selector === undefined ? item : item.find(selector).first();
  if (target.length === 0) return null;
  if (attr === undefined) return cap(collapse(target.text()));
  const value = target.attr(attr);
  if (value === undefined) return null;
  const trimmed = value.trim();
  return cap(URL_ATTRIBUTES.has(attr.toLowerCase()) ? absolute(trimmed, base) : trimmed);
}

/** The page's `<base href>`, itself resolved against the page URL, or the page URL. */
function baseUrl($: CheerioAPI, pageUrl: string): string {
  const href = $('base[href]').first().attr('href');
  return href === undefined ? pageUrl : absolute(href.trim(), pageUrl);
}

/** `value` resolved against `base`; left as it is when it is not a URL at all (`javascript:` is kept as written). */
export function absolute(value: string, base: string): string {
  if (value === '') return value;
  try {
    return new URL(value, base).href;
  } catch {
    return value;
  }
}

/** Runs of whitespace (newlines and indentation from the markup) become one space. */
export function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** At most {@link MAX_FIELD_CHARS} characters. */
export function cap(text: string, max = MAX_FIELD_CHARS): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
