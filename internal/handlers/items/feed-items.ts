import { load } from 'cheerio';
import { parseFeed } from 'feedsmith';
import { absolute, cap, collapse } from './html-items.js';
import { type FeedItem, type ItemsExtraction, MAX_SEEN_IDS } from './new-items.js';

/** Longest summary kept, in characters: enough for a notification, small enough for a run output. */
export const MAX_SUMMARY_CHARS = 500;

/** A feed entry as a run reports it. Every format is reduced to these fields; absent ones are null. */
export interface FeedEntry {
  /** The entry's id (RSS guid, Atom id, JSON Feed id), or its link when it has none. */
  id: string;
  title: string | null;
  /** Absolute, resolved against the feed's URL. */
  link: string | null;
  /** ISO-8601 when the feed's date could be read, else as the feed wrote it. */
  date: string | null;
  /** Plain text (markup removed), at most {@link MAX_SUMMARY_CHARS} characters. */
  summary: string | null;
}

type ParsedFeed = ReturnType<typeof parseFeed>;

/**
 * Reads the entries of an RSS 2.0 (or RSS 1.0/RDF), Atom or JSON Feed document, whichever the body is. A pure
 * function: feedsmith parses the string, nothing is fetched.
 *
 * A body that is no feed is a failure with `down: 'not_a_feed'` (the URL serves something else: an error page, a
 * moved feed). An entry with neither id nor link cannot be told apart from the others and is skipped.
 *
 * @param feedUrl the URL the feed was read from, after redirects; relative links are resolved against it.
 */
export function extractFeedItems(body: Buffer | string, feedUrl: string): ItemsExtraction {
  let parsed: ParsedFeed;
  try {
    parsed = parseFeed(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return { ok: false, down: 'not_a_feed', error: `body is not an RSS, Atom or JSON feed (${why})` };
  }
  const entries = toEntries(parsed, feedUrl);
  const items: FeedItem[] = [];
  const ids = new Set<string>();
  for (const entry of entries.slice(0, MAX_SEEN_IDS)) {
    if (entry.id === '' || ids.has(entry.id)) continue;
    ids.add(entry.id);
    items.push({ id: entry.id, item: entry });
  }
  return { ok: true, items };
}

function toEntries(parsed: ParsedFeed, base: string): FeedEntry[] {
  switch (parsed.format) {
    case 'rss':
      return (parsed.feed.items ?? []).map((item) =>
        entry(base, {
          id: item.guid?.value,
          title: item.title,
          link: item.link,
          date: item.pubDate ?? item.dc?.dates?.[0],
          summary: item.description ?? item.content?.encoded,
        }),
      );
    case 'rdf':
      return (parsed.feed.items ?? []).map((item) =>
        entry(base, { id: undefined, title: item.title, link: item.link, date: item.dc?.dates?.[0], summary: item.description }),
      );
    case 'atom':
      return (parsed.feed.entries ?? []).map((item) => {
        const links = item.links ?? [];
        const link = links.find((l) => l.rel === undefined || l.rel === 'alternate') ?? links[0];
        return entry(base, {
          id: item.id,
          title: text(item.title),
          link: link?.href,
          date: item.published ?? item.updated,
          summary: text(item.summary) ?? text(item.content),
        });
      });
    case 'json':
      return (parsed.feed.items ?? []).map((item) =>
        entry(base, {
          id: item.id,
          title: item.title,
          link: item.url ?? item.external_url,
          date: item.date_published ?? item.date_modified,
          summary: item.summary ?? item.content_text ?? item.content_html,
        }),
      );
  }
}

interface RawEntry {
  id: unknown;
  title: unknown;
  link: unknown;
  date: unknown;
  summary: unknown;
}

function entry(base: string, raw: RawEntry): FeedEntry {
  const link = str(raw.link);
  const absoluteLink = link === null ? null : cap(absolute(link, base));
  const id = str(raw.id) ?? absoluteLink ?? '';
  const summary = str(raw.summary);
  return {
    id: cap(id),
    title: nullable(str(raw.title), (t) => cap(plainText(t))),
    link: absoluteLink,
    date: nullable(str(raw.date), isoDate),
    summary: nullable(summary, (s) => cap(plainText(s), MAX_SUMMARY_CHARS)),
  };
}

/** Atom text constructs come as `{ value, type }`; other formats as strings. */
function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { value?: unknown }).value === 'string') {
    return (value as { value: string }).value;
  }
  return undefined;
}

function str(value: unknown): string | null {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return null;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

function nullable(value: string | null, map: (v: string) => string): string | null {
  return value === null ? null : map(value);
}

/** Summaries and titles are often HTML; a notification wants their text. Text without markup passes unchanged. */
function plainText(value: string): string {
  return collapse(/[<&]/.test(value) ? load(`<body>${value}</body>`)('body').text() : value);
}

/** RFC 822 (RSS) and RFC 3339 (Atom, JSON Feed) dates as ISO-8601 UTC; anything unreadable as written. */
function isoDate(value: string): string {
  const time = Date.parse(value);
  return Number.isNaN(time) ? cap(value, 100) : new Date(time).toISOString();
}
