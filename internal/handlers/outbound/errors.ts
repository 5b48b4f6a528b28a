/**
 * Errors raised by the outbound HTTP layer. They split into two kinds, and callers branch on the class:
 *
 * - {@link DeniedAddressError} and {@link RedirectError} mean the *request itself* is not acceptable (a task points
 *   at a forbidden address, or redirects in a circle). Retrying will not help; the `http` check lets them fail the
 *   attempt so they are retried and dead-lettered where an operator sees them.
 * - {@link OutboundNetworkError} means the *target* could not be reached or broke off (refused, reset, DNS failure,
 *   TLS failure). For the `http` check that is a result: the target is down.
 *
 * An abort of the caller's signal is neither: the signal's own reason is rethrown unchanged.
 */

/** Every `code` an outbound error can carry. */
export type OutboundErrorCode =
  /** A resolved (or literal) address of the target falls in `APP_HTTP_DENY_CIDRS`. */
  | 'denied_address'
  /** A redirect chain came back to a URL it had already visited. */
  | 'redirect_loop'
  /** More redirects than `maxRedirects`. */
  | 'too_many_redirects'
  /** A redirect's `Location` is unparseable or uses a scheme other than http/https. */
  | 'bad_redirect'
  /** The connection failed or broke: refused, reset, DNS, TLS, a protocol error. */
  | 'network';

/** The base class of every error this layer raises on purpose. */
export abstract class OutboundError extends Error {
  abstract readonly code: OutboundErrorCode;
}

/**
 * The target resolved to (or is) an address the outbound policy denies. Raised before any connection is opened, so
 * the forbidden address never sees a packet from us.
 */
export class DeniedAddressError extends OutboundError {
  readonly code = 'denied_address' as const;

  constructor(
    /** The host as written in the URL (a name or a literal address). */
    readonly host: string,
    /** The address that matched the deny list. */
    readonly address: string,
    /** The deny-list entry it matched, when known. */
    readonly cidr?: string,
  ) {
    const of = host === address ? '' : ` of ${host}`;
    const rule = cidr === undefined ? '' : ` (${cidr})`;
    super(`address ${address}${of} is denied by APP_HTTP_DENY_CIDRS${rule}`);
    this.name = 'DeniedAddressError';
  }
}

/** A redirect chain that cannot be followed: a loop, too many hops, or a bad `Location`. */
export class RedirectError extends OutboundError {
  constructor(
    readonly code: 'redirect_loop' | 'too_many_redirects' | 'bad_redirect',
    message: string,
    /** The URLs visited so far, in order, the first being the one requested. */
    readonly chain: readonly string[],
  ) {
    super(message);
    this.name = 'RedirectError';
  }
}

/** The target could not be reached, or the exchange broke off. `cause` holds the undici or system error. */
export class OutboundNetworkError extends OutboundError {
  readonly code = 'network' as const;

  constructor(
    message: string,
    /** The system or undici error code (`ECONNREFUSED`, `UND_ERR_SOCKET`, …), when there is one. */
    readonly errorCode: string | undefined,
    options: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'OutboundNetworkError';
  }
}

/** Whether `err` is one of this layer's errors, optionally of one code. */
export function isOutboundError(err: unknown, code?: OutboundErrorCode): err is OutboundError {
  return err instanceof OutboundError && (code === undefined || err.code === code);
}
