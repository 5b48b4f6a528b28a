import { resolveJsonPointer } from '../http/json-pointer.js';

/** Seen ids remembered per task. Bounds the memory row; see {@link detectNewItems} for which ones are kept. */
export const MAX_SEEN_IDS = 5_000;
/** New items copied into a run's output; the count covers all of them. */
export const MAX_REPORTED_ITEMS = 20;

export interface JsonItemsSpec {
  /** JSON pointer to the array. */
  path: string;
  /** The id field of each item. */
  id: string;
}

/** One item with its id, stringified (so `7` and `"7"` are the same item), and what a run reports of it. */
export interface FeedItem {
  id: string;
  item: unknown;
}

/**
 * Items read from a body, or why they could not be. `down` is set when the failure means the page is not what the
 * task watches (an HTML selector that matches nothing, a body that is no feed): the check is then down with that
 * reason. Without it the failure is only shown (`items_error`), and up or down is decided by the other checks.
 */
export type ItemsExtraction = { ok: true; items: FeedItem[] } | { ok: false; error: string; down?: ItemsDownReason };

/** Why a page's items make the check down. */
export type ItemsDownReason = 'no_items' | 'not_a_feed';

/**
 * Finds the items in a response body. Reports, rather than throws, every way the body can fail to hold them
 * (not JSON, cut short, no array at the pointer, no item with the id field): the target answered, so the check
 * ran; what it could not do is said in the output's `items_error`.
 *
 * Items without a usable id (a string or a finite number) are skipped. Duplicate ids count once. Only the first
 * {@link MAX_SEEN_IDS} items are considered: the memory could not hold more, and items past it would otherwise be
 * reported as new on every run.
 */
export function extractJsonItems(body: Buffer, spec: JsonItemsSpec, truncated: boolean): ItemsExtraction {
  if (truncated) {
    return { ok: false, error: `body was cut at max_body_bytes (${body.length} bytes), so its items cannot be read; raise max_body_bytes` };
  }
  let document: unknown;
  try {
    document = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return { ok: false, error: `body is not JSON (${err instanceof Error ? err.message : String(err)})` };
  }
  const found = resolveJsonPointer(document, spec.path);
  if (!found.found) return { ok: false, error: `items.path ${JSON.stringify(spec.path)} is not in the body (nothing at ${found.missingAt})` };
  if (!Array.isArray(found.value)) {
    return { ok: false, error: `items.path ${JSON.stringify(spec.path)} is ${describeType(found.value)}, not an array` };
  }
  const items: FeedItem[] = [];
  const ids = new Set<string>();
  for (const item of found.value.slice(0, MAX_SEEN_IDS)) {
    const id = itemId(item, spec.id);
    if (id === null || ids.has(id)) continue;
    ids.add(id);
    items.push({ id, item });
  }
  if (items.length === 0 && found.value.length > 0) {
    return { ok: false, error: `no item has a string or number field ${JSON.stringify(spec.id)}` };
  }
  return { ok: true, items };
}

export interface NewItemsDetection {
  /** Items whose id this task had not seen, in feed order; 0 on the baseline run. */
  count: number;
  /** The first {@link MAX_REPORTED_ITEMS} of them. */
  first: unknown[];
  /** The ids to remember, most recent first, at most {@link MAX_SEEN_IDS}. */
  seenIds: string[];
}

/**
 * Compares the feed with the ids seen before.
 *
 * `previous` undefined means this task has never read its feed: that run is the baseline, which reports nothing
 * (as the original did) and remembers everything. An empty list is not a baseline: the feed was read and was empty,
 * so whatever appears next is new.
 *
 * The remembered ids are the feed's current ids first, then previously seen ids no longer in the feed, cut at
 * {@link MAX_SEEN_IDS}. An item still in the feed is therefore never forgotten, however old, and what is forgotten
 * is what left the feed longest ago: those could only be reported again if they came back.
 */
export function detectNewItems(items: readonly FeedItem[], previous: readonly string[] | undefined): NewItemsDetection {
  const current = items.map((i) => i.id);
  if (previous === undefined) return { count: 0, first: [], seenIds: current.slice(0, MAX_SEEN_IDS) };
  const seen = new Set(previous);
  const fresh = items.filter((i) => !seen.has(i.id));
  const inFeed = new Set(current);
  const seenIds = [...current, ...previous.filter((id) => !inFeed.has(id))].slice(0, MAX_SEEN_IDS);
  return { count: fresh.length, first: fresh.slice(0, MAX_REPORTED_ITEMS).map((i) => i.item), seenIds };
}

function itemId(item: unknown, field: string): string | null {
  if (typeof item !== 'object' || item === null || Array.isArray(item) || !Object.hasOwn(item, field)) return null;
  const value = (item as Record<string, unknown>)[field];
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}
