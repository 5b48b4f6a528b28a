import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { extractHtmlItems, MAX_FIELD_CHARS, MAX_ITEM_CHARS } from './html-items.js';
import { htmlItemsSchema } from './items-schema.js';

/** Pure extraction on fixtures: no network, no clock. */
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));
const page = 'https://shop.example/search?q=lamp';

const spec = htmlItemsSchema.parse({
  selector: 'li.item',
  id: { selector: 'a', attr: 'href' },
  fields: {
    title: '.name',
    price: { selector: '.price', attr: 'data-value' },
    url: { selector: 'a', attr: 'href' },
    image: { selector: 'img', attr: 'src' },
  },
});

describe('extractHtmlItems', () => {
  it('reads each item with its fields, absolute URLs, collapsed text, and skips items without an id or seen twice', () => {
    const result = extractHtmlItems(fixture('listing.html'), spec, page);
    expect(result).toEqual({
      ok: true,
      items: [
        {
          id: 'https://shop.example/lamps/1',
          item: {
            id: 'https://shop.example/lamps/1',
            title: 'Brass desk lamp',
            price: '49.00',
            url: 'https://shop.example/lamps/1',
            image: 'https://shop.example/img/1.jpg',
          },
        },
        {
          id: 'https://other.example/lamps/2?ref=x',
          item: {
            id: 'https://other.example/lamps/2?ref=x',
            title: 'Floor lamp',
            price: '120.00',
            url: 'https://other.example/lamps/2?ref=x',
            image: null,
          },
        },
      ],
    });
  });

  it("resolves against the page's <base href>, itself relative to the page", () => {
    const result = extractHtmlItems(
      fixture('listing-base.html'),
      htmlItemsSchema.parse({ selector: '.card', id: { selector: 'a', attr: 'href' } }),
      'https://shop.example/a/b',
    );
    expect(result.ok && result.items.map((i) => i.id)).toEqual(['https://shop.example/catalogue/lamp-7', 'https://shop.example/lamp-8']);
  });

  it("uses the item's whole text as its id when items.id is not given", () => {
    const result = extractHtmlItems('<p class=x> one\n two </p><p class=x>three</p>', htmlItemsSchema.parse({ selector: 'p.x' }), page);
    expect(result).toEqual({ ok: true, items: [{ id: 'one two', item: { id: 'one two' } }, { id: 'three', item: { id: 'three' } }] });
  });

  it('is down with no_items when the selector matches nothing, unless allow_empty', () => {
    expect(extractHtmlItems(fixture('listing.html'), htmlItemsSchema.parse({ selector: 'li.product' }), page)).toEqual({
      ok: false,
      down: 'no_items',
      error: 'items.selector "li.product" matched nothing',
    });
    expect(extractHtmlItems('<ul></ul>', htmlItemsSchema.parse({ selector: 'li', allow_empty: true }), page)).toEqual({ ok: true, items: [] });
    const noIds = extractHtmlItems(fixture('listing.html'), htmlItemsSchema.parse({ selector: 'li', id: { attr: 'data-id' } }), page);
    expect(noIds).toMatchObject({ ok: false, down: 'no_items' });
  });

  it('caps field values', () => {
    const long = 'x'.repeat(MAX_FIELD_CHARS + 50);
    const result = extractHtmlItems(`<div class=i><b>${long}</b></div>`, htmlItemsSchema.parse({ selector: '.i', fields: { b: 'b' } }), page);
    const item = result.ok ? (result.items[0]?.item as Record<string, string>) : undefined;
    expect(item?.b).toHaveLength(MAX_FIELD_CHARS);
    expect(item?.b?.endsWith('…')).toBe(true);
  });

  it('keeps all the values of one item within MAX_ITEM_CHARS', () => {
    const cells = Array.from({ length: 10 }, (_, i) => `<b class=f${i}>${'y'.repeat(MAX_FIELD_CHARS)}</b>`).join('');
    const fields = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`f${i}`, `.f${i}`]));
    const result = extractHtmlItems(`<div class=i>${cells}</div>`, htmlItemsSchema.parse({ selector: '.i', id: '.f0', fields }), page);
    const item = result.ok ? (result.items[0]?.item as Record<string, string>) : {};
    const total = Object.values(item).reduce((sum, v) => sum + v.length, 0);
    expect(total).toBeLessThanOrEqual(MAX_ITEM_CHARS + 10);
    expect(item.f0).toHaveLength(MAX_FIELD_CHARS);
  });

  it('decodes bytes by their <meta charset>', () => {
    const latin1 = Buffer.concat([Buffer.from('<meta charset="iso-8859-1"><p class=n>caf'), Buffer.from([0xe9]), Buffer.from('</p>')]);
    const result = extractHtmlItems(latin1, htmlItemsSchema.parse({ selector: 'p.n' }), page);
    expect(result.ok && result.items[0]?.id).toBe('café');
  });
});

describe('htmlItemsSchema', () => {
  it('refuses bad selectors, fields and attributes at their own paths', () => {
    const paths = (value: unknown) => htmlItemsSchema.safeParse(value).error?.issues.map((i) => i.path.join('.')).sort();
    expect(paths({ selector: 'li[' })).toEqual(['selector']);
    expect(paths({ selector: 'li', id: { attr: 'a b' } })).toEqual(['id.attr']);
    expect(paths({ selector: 'li', fields: { id: 'a' } })).toEqual(['fields.id']);
    expect(paths({ selector: 'li', fields: { 'bad-name': 'a' } })).toEqual(['fields.bad-name']);
    expect(paths({ selector: 'li', extra: 1 })).toEqual(['extra']);
  });
});
