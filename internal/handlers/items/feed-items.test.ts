import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extractFeedItems, type FeedEntry } from './feed-items.js';

/** Pure parsing of RSS 2.0, Atom and JSON Feed fixtures: no network. */
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
const feedUrl = 'https://shop.example/feeds/lamps';

function entries(name: string): FeedEntry[] {
  const result = extractFeedItems(fixture(name), feedUrl);
  if (!result.ok) throw new Error(result.error);
  return result.items.map((i) => i.item as FeedEntry);
}

describe('extractFeedItems', () => {
  it('reads RSS 2.0: guid as id (link when there is none), absolute links, ISO dates, summaries as text', () => {
    expect(entries('feed-rss.xml')).toEqual([
      {
        id: 'lamp-1',
        title: 'Brass desk lamp',
        link: 'https://shop.example/lamps/1',
        date: '2025-06-10T04:00:00.000Z',
        summary: 'A brass lamp & a shade.',
      },
      {
        id: 'https://shop.example/lamps/2',
        title: 'Floor lamp',
        link: 'https://shop.example/lamps/2',
        date: '2025-06-11T07:30:00.000Z',
        summary: 'Tall.',
      },
    ]);
  });

  it('reads Atom: id, the alternate link, published (else updated), summary (else content), HTML titles as text', () => {
    expect(entries('feed-atom.xml')).toEqual([
      {
        id: 'urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a',
        title: 'Brass desk lamp',
        link: 'https://shop.example/lamps/1',
        date: '2025-06-10T04:00:00.000Z',
        summary: 'A brass lamp.',
      },
      {
        id: 'urn:uuid:2225c695-cfb8-4ebb-aaaa-80da344efa6a',
        title: 'Floor lamp',
        link: 'https://shop.example/lamps/2',
        date: '2025-06-11T07:30:00.000Z',
        summary: 'Tall.',
      },
    ]);
  });

  it('reads JSON Feed: id, url (else external_url), date_published (else date_modified), summary (else content)', () => {
    expect(entries('feed.json')).toEqual([
      { id: 'lamp-1', title: 'Brass desk lamp', link: 'https://shop.example/lamps/1', date: '2025-06-10T04:00:00.000Z', summary: 'A brass lamp.' },
      { id: 'lamp-2', title: 'Floor lamp', link: 'https://shop.example/lamps/2', date: '2025-06-11T07:30:00.000Z', summary: 'Tall.' },
    ]);
  });

  it('is down with not_a_feed for a body that is no feed', () => {
    for (const body of ['<html><body>Moved</body></html>', '{"items": []}', 'plain text']) {
      expect(extractFeedItems(Buffer.from(body), feedUrl)).toMatchObject({ ok: false, down: 'not_a_feed' });
    }
  });

  it('keeps an empty feed up with no items, and skips repeated ids', () => {
    const empty = '<rss version="2.0"><channel><title>t</title><link>https://x/</link><description>d</description></channel></rss>';
    expect(extractFeedItems(Buffer.from(empty), feedUrl)).toEqual({ ok: true, items: [] });
    const twice = JSON.stringify({ version: 'https://jsonfeed.org/version/1.1', title: 't', items: [{ id: 'a', content_text: 'x' }, { id: 'a', content_text: 'y' }] });
    const result = extractFeedItems(Buffer.from(twice), feedUrl);
    expect(result.ok && result.items.map((i) => i.id)).toEqual(['a']);
  });
});
