export {
  DeniedAddressError,
  OutboundError,
  type OutboundErrorCode,
  OutboundNetworkError,
  RedirectError,
  isOutboundError,
} from './errors.js';
export { type AddressGate, type HostResolver, systemResolver } from './guarded-agent.js';
export { DEFAULT_DENY_CIDRS, InvalidCidrError, OutboundPolicy, type OutboundPolicyOptions } from './outbound-policy.js';
export {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_REDIRECTS,
  type OutboundRequestOptions,
  type OutboundResponse,
  outboundRequest,
} from './outbound-request.js';
export {
  DEFAULT_WEBHOOK_TIMEOUT_MS,
  type DeliverWebhookOptions,
  SIGNATURE_HEADER,
  type WebhookDelivery,
  deliverWebhook,
  signBody,
  verifySignature,
} from './webhook.js';
