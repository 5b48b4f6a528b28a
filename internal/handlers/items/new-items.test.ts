import { describe, expect, it } from 'vitest';
import { detectNewItems, extractJsonItems, type FeedItem, MAX_REPORTED_ITEMS, MAX_SEEN_IDS } from './new-items.js';

const spec = { path: '/items', id: 'id' };
const body = (value: unknown) => Buffer.from(JSON.stringify(value));
const feedItems = (ids: (string | number)[]): FeedItem[] => ids.map((id) => ({ id: String(id), item: { id } }));

describe('extractJsonItems', () => {
  it('stringifies ids, skips items without a usable id, and counts duplicates once', () => {
    const result = extractJsonItems(
      body({ items: [{ id: 1 }, { id: '1' }, { id: 'b' }, { id: null }, { id: '' }, { id: { x: 1 } }, 'text', null, { other: 2 }, { id: 2.5 }] }),
      spec,
      false,
    );
    expect(result).toEqual({
      ok: true,
      items: [
        { id: '1', item: { id: 1 } },
        { id: 'b', item: { id: 'b' } },
        { id: '2.5', item: { id: 2.5 } },
      ],
    });
  });

  it('reads a body that is itself the array', () => {
    expect(extractJsonItems(body([{ id: 'x' }]), { path: '', id: 'id' }, false)).toEqual({ ok: true, items: [{ id: 'x', item: { id: 'x' } }] });
  });

  it(`considers only the first ${MAX_SEEN_IDS} items`, () => {
    const many = Array.from({ length: MAX_SEEN_IDS + 10 }, (_, i) => ({ id: i }));
    const result = extractJsonItems(body({ items: many }), spec, false);
    expect(result.ok && result.items.length).toBe(MAX_SEEN_IDS);
  });
});

describe('detectNewItems', () => {
  it('reports nothing on the baseline and remembers the feed', () => {
    expect(detectNewItems(feedItems([3, 2, 1]), undefined)).toEqual({ count: 0, first: [], seenIds: ['3', '2', '1'] });
  });

  it(`reports every new item in the count and the first ${MAX_REPORTED_ITEMS} in full`, () => {
    const fresh = Array.from({ length: 30 }, (_, i) => `n${i}`);
    const result = detectNewItems(feedItems([...fresh, 'old']), ['old']);
    expect(result.count).toBe(30);
    expect(result.first).toHaveLength(MAX_REPORTED_ITEMS);
    expect(result.first[0]).toEqual({ id: 'n0' });
  });

  it(`keeps at most ${MAX_SEEN_IDS} ids: the current feed first, then those that left it most recently`, () => {
    const previous = Array.from({ length: MAX_SEEN_IDS }, (_, i) => `p${i}`);
    const result = detectNewItems(feedItems(['new1', 'p10', 'new2']), previous);
    expect(result.count).toBe(2);
    expect(result.seenIds).toHaveLength(MAX_SEEN_IDS);
    expect(result.seenIds.slice(0, 5)).toEqual(['new1', 'p10', 'new2', 'p0', 'p1']);
    // The oldest ids that already left the feed are forgotten first.
    expect(result.seenIds).not.toContain(`p${MAX_SEEN_IDS - 1}`);
    expect(result.seenIds).not.toContain(`p${MAX_SEEN_IDS - 2}`);
    expect(new Set(result.seenIds).size).toBe(MAX_SEEN_IDS);
  });

  it('never reports an item still in the feed as new again, however long the history', () => {
    let seen: string[] | undefined;
    const feed = ['a', 'b', 'c'];
    for (let run = 0; run < 3; run++) {
      const result = detectNewItems(feedItems([`x${run}`, ...feed]), seen);
      expect(result.count).toBe(run === 0 ? 0 : 1);
      seen = result.seenIds;
    }
  });
});
