/**
 * The HTTP API: the only package that imports express. `internal/app` builds it with {@link createApiApp} and
 * implements the ports it declares (task dispatch, health).
 */
export { createApiApp, type ApiDeps, BODY_LIMIT_BYTES, OPEN_PATHS, UNLIMITED_PATHS, READ_ONLY_POSTS } from './app.js';
export { type ApiToken, type TokenScope, type RequestAuth } from './middleware/bearer-auth.js';
export { memoryRateLimiter, type RateLimitWindow } from './rate-limit-memory.js';
export {
  type QueuedVia,
  type TaskDispatcher,
  type HealthReport,
  type HealthSource,
  type RateLimiter,
  type RateLimitVerdict,
  type StoreHealthSourceOptions,
  pollingDispatcher,
  storeHealthSource,
  checkStore,
  pingWithin,
} from './ports.js';
export { API_ERROR_CODES, type ApiErrorCode, type FieldErrors, ApiError, ValidationError, NotFoundError, isApiError } from './errors.js';
export * from './schemas.js';
export { taskToJson, runToJson, scheduleToJson, pageToJson } from './serializers.js';
export { IDEMPOTENCY_HEADER, REPLAYED_HEADER } from './idempotency.js';
export { REQUEST_ID_HEADER } from './middleware/request-id.js';
export { errorBody } from './middleware/error-handler.js';
