import { load } from 'cheerio';
import { z } from 'zod';
import { jsonPointerError } from '../http/json-pointer.js';
import { closedObject, keyedUnion } from '../schema-helpers.js';

/**
 * The `items` payload of the `http` and `browser` types: where a page's items are, so that new ones are reported.
 * Three forms, told apart by their key (see `keyedUnion`): `{"path", "id"}` for a JSON array, `{"selector", …}` for
 * HTML, `{"feed": true}` for RSS, Atom and JSON Feed.
 */

/** Named fields an HTML item may carry. */
export const MAX_ITEM_FIELDS = 20;
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,49}$/;
/** An HTML attribute name as the HTML spec allows it, within reason. */
const ATTRIBUTE_NAME = /^[^\s"'>/=\x00-\x1f\x7f]{1,100}$/;

/** The empty document selectors are compiled against; compiling is what finds a syntax error. */
let emptyDocument: ReturnType<typeof load> | undefined;

/** Why `selector` is not a CSS selector the extractor can run, or null when it is. */
export function selectorError(selector: string): string | null {
  emptyDocument ??= load('');
  try {
    emptyDocument(selector);
    return null;
  } catch (err) {
    return `is not a valid CSS selector (${err instanceof Error ? err.message : String(err)})`;
  }
}

export const cssSelectorSchema = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(500, { error: 'must be at most 500 characters' })
  .superRefine((selector, ctx) => {
    const error = selectorError(selector);
    if (error !== null) ctx.addIssue({ code: 'custom', message: error });
  })
  .meta({ description: 'A CSS selector, such as `li.item` or `a[href]`.' });

const fieldObjectSchema = closedObject({
  selector: cssSelectorSchema.optional().meta({ description: "Within the item; omitted, the item's own element." }),
  attr: z
    .string({ error: 'must be a string' })
    .regex(ATTRIBUTE_NAME, { error: 'must be an HTML attribute name such as href or data-id' })
    .optional()
    .meta({ description: 'Read this attribute instead of the text. href, src and other URL attributes are made absolute.' }),
}).superRefine((field, ctx) => {
  if (field.selector === undefined && field.attr === undefined) ctx.addIssue({ code: 'custom', message: 'must have a selector, an attr, or both' });
});

/** A value read from an item: a selector (its text), or `{selector?, attr?}`. */
export const itemFieldSchema = z
  .union([cssSelectorSchema, fieldObjectSchema], {
    error: 'must be a CSS selector (its text is read) or {"selector": "…", "attr": "…"}',
  })
  .meta({ description: 'A CSS selector within the item (its text), or {"selector", "attr"} to read an attribute.' });

export const jsonItemsSchema = closedObject({
  path: z
    .string({ error: 'must be a string' })
    .max(1_000)
    .superRefine((pointer, ctx) => {
      const error = jsonPointerError(pointer);
      if (error !== null) ctx.addIssue({ code: 'custom', message: error });
    })
    .meta({ description: "JSON pointer (RFC 6901) to the array of items; '' for a body that is the array." }),
  id: z
    .string({ error: 'must be a string' })
    .min(1, { error: 'must not be empty' })
    .max(200)
    .meta({ description: "Name of each item's id field (top level of the item)." }),
}).meta({ description: 'Items in a JSON array: where the array is, and which field identifies an item.' });

export const htmlItemsSchema = closedObject({
  selector: cssSelectorSchema.meta({ description: 'Selects each item, such as `li.item`.' }),
  id: itemFieldSchema
    .optional()
    .meta({ description: "What identifies an item, such as {\"selector\": \"a\", \"attr\": \"href\"}. Default: the item's whole text." }),
  fields: z
    .record(z.string(), itemFieldSchema)
    .superRefine((fields, ctx) => {
      const names = Object.keys(fields);
      if (names.length > MAX_ITEM_FIELDS) ctx.addIssue({ code: 'custom', message: `must have at most ${MAX_ITEM_FIELDS} fields` });
      for (const name of names) {
        if (name === 'id') ctx.addIssue({ code: 'custom', path: [name], message: 'is reserved for the item id; use items.id' });
        else if (!FIELD_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'must be a name of letters, digits and _ (at most 50)' });
      }
    })
    .optional()
    .meta({ description: 'Values reported with each new item, name → selector or {selector, attr}.' }),
  allow_empty: z
    .boolean({ error: 'must be true or false' })
    .optional()
    .meta({ description: 'A page where the selector matches nothing is up (a search with no results). Default false: down.' }),
}).meta({ description: 'Items in an HTML page, by CSS selector, each with an id and named fields.' });

export const feedItemsSchema = closedObject({
  feed: z.literal(true, { error: 'must be true' }),
}).meta({ description: 'Items of an RSS 2.0, Atom or JSON Feed document: id (or link), title, link, date and summary.' });

export type JsonItemsSpec = z.output<typeof jsonItemsSchema>;
export type HtmlItemsSpec = z.output<typeof htmlItemsSchema>;
export type FeedItemsSpec = z.output<typeof feedItemsSchema>;
export type ItemFieldSpec = z.output<typeof itemFieldSchema>;
/** Any form of `items`. */
export type ItemsSpec = JsonItemsSpec | HtmlItemsSpec | FeedItemsSpec;

/** The `http` type's `items`: a JSON array, HTML by selector, or a feed. */
export const itemsSchema = keyedUnion<ItemsSpec>(
  [
    { key: 'feed', schema: feedItemsSchema },
    { key: 'selector', schema: htmlItemsSchema },
    { key: 'path', schema: jsonItemsSchema },
  ],
  'must be {"path": "/items", "id": "id"} for JSON, {"selector": "li.item", …} for HTML, or {"feed": true}',
).meta({ description: 'New-item detection: a JSON array, HTML items by CSS selector, or an RSS, Atom or JSON feed.' });

/** The `browser` type's `items`: HTML by selector only (a rendered page is HTML). */
export const htmlOnlyItemsSchema = keyedUnion<HtmlItemsSpec>(
  [{ key: 'selector', schema: htmlItemsSchema }],
  'must be {"selector": "li.item", …}: a rendered page has HTML items only',
).meta({ description: 'New-item detection on the rendered page, by CSS selector.' });
