export { type BodyContext, extractItems } from './extract-items.js';
export { type FeedEntry, MAX_SUMMARY_CHARS, extractFeedItems } from './feed-items.js';
export { type HtmlItem, MAX_FIELD_CHARS, extractHtmlItems } from './html-items.js';
export {
  type FeedItemsSpec,
  type HtmlItemsSpec,
  type ItemFieldSpec,
  type ItemsSpec,
  type JsonItemsSpec,
  MAX_ITEM_FIELDS,
  cssSelectorSchema,
  htmlOnlyItemsSchema,
  itemsSchema,
  selectorError,
} from './items-schema.js';
export {
  type FeedItem,
  type ItemsDownReason,
  type ItemsExtraction,
  MAX_REPORTED_ITEMS,
  MAX_SEEN_IDS,
  type NewItemsDetection,
  detectNewItems,
  extractJsonItems,
} from './new-items.js';
