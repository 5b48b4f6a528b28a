export { REGEX_TIMEOUT_MS, RegexTimeoutError } from './body-match.js';
export {
  HTTP_EVENTS,
  type HttpCheckDeps,
  type HttpCheckMemory,
  type HttpCheckOutput,
  type HttpCheckResult,
  type HttpEvent,
  describeExpectStatus,
  httpMemorySchema,
  parseHttpMemory,
  requestTimeoutFor,
  runHttpCheck,
} from './http-check.js';
export { type HttpTypeDeps, createHttpType } from './http-type.js';
export { jsonPointerError, parseJsonPointer, resolveJsonPointer } from './json-pointer.js';
export { MAX_REPORTED_ITEMS, MAX_SEEN_IDS } from '../items/new-items.js';
export {
  HTTP_METHODS,
  type HttpMethod,
  type HttpPayload,
  type HttpPayloadInput,
  MAX_MAX_BODY_BYTES,
  httpPayloadSchema,
} from './payload-schema.js';
