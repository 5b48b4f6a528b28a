import type { LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Agent, Dispatcher } from 'undici';
import { DeniedAddressError } from './errors.js';
import { type AddressGate, createGuardedAgent, type HostResolver, systemResolver } from './guarded-agent.js';

/**
 * The default of `APP_HTTP_DENY_CIDRS`: IPv4 and IPv6 link-local (which hold the cloud metadata endpoint
 * 169.254.169.254) and AWS's IPv6 metadata address. Private ranges are not in it on purpose: checking an internal
 * service is a normal use of a self-hosted monitor. Operators who need more add them (10.0.0.0/8, 127.0.0.0/8,
 * NAT64 64:ff9b::/96, …).
 */
export const DEFAULT_DENY_CIDRS: readonly string[] = Object.freeze(['169.254.0.0/16', 'fe80::/10', 'fd00:ec2::254/128']);

/** One or more entries of a deny list are not CIDRs. `entries` lists each bad entry with the reason. */
export class InvalidCidrError extends Error {
  constructor(readonly entries: readonly { entry: string; reason: string }[]) {
    super(
      `invalid APP_HTTP_DENY_CIDRS: ${entries.map((e) => `${JSON.stringify(e.entry)} (${e.reason})`).join(', ')}; ` +
        'expected entries like 169.254.0.0/16 or fe80::/10',
    );
    this.name = 'InvalidCidrError';
  }
}

export interface OutboundPolicyOptions {
  /** Resolves host names; default `dns.lookup` with all addresses. Tests inject made-up names here. */
  resolve?: HostResolver;
  /** Connect timeout per connection, in ms. Default 10,000. */
  connectTimeoutMs?: number;
}

interface Rule {
  cidr: string;
  list: BlockList;
}

type Family = 'ipv4' | 'ipv6';

/**
 * Which addresses outbound requests (the `http` check, webhook delivery) may connect to, and the undici dispatcher
 * that enforces it. Built once from config in `internal/app` and shared; {@link close} it on shutdown.
 *
 * The check is made against resolved addresses at connect time (see `guarded-agent.ts`), never against the URL's
 * host name, which could resolve anywhere.
 */
export class OutboundPolicy implements AddressGate {
  /** The deny list, normalised (`a.b.c.d/n`, bare addresses given their full prefix length). */
  readonly cidrs: readonly string[];
  /** The guarded agent. Pass it as `dispatcher` to every outbound undici call. */
  readonly dispatcher: Dispatcher;

  private readonly all = new BlockList();
  private readonly rules: Rule[] = [];
  private closing: Promise<void> | undefined;
  private readonly resolve: HostResolver | undefined;
  private readonly connectTimeoutMs: number | undefined;

  /** @throws {InvalidCidrError} naming every entry that is not a CIDR. */
  constructor(denyCidrs: readonly string[] = DEFAULT_DENY_CIDRS, options: OutboundPolicyOptions = {}) {
    const bad: { entry: string; reason: string }[] = [];
    const cidrs: string[] = [];
    for (const entry of denyCidrs) {
      const parsed = parseCidr(entry);
      if ('reason' in parsed) {
        bad.push({ entry, reason: parsed.reason });
        continue;
      }
      const list = new BlockList();
      list.addSubnet(parsed.address, parsed.prefix, parsed.family);
      this.all.addSubnet(parsed.address, parsed.prefix, parsed.family);
      const cidr = `${parsed.address}/${parsed.prefix}`;
      this.rules.push({ cidr, list });
      cidrs.push(cidr);
    }
    if (bad.length > 0) throw new InvalidCidrError(bad);
    this.cidrs = Object.freeze(cidrs);
    this.resolve = options.resolve;
    this.connectTimeoutMs = options.connectTimeoutMs;
    this.dispatcher = createGuardedAgent({
      gate: this,
      ...(options.resolve === undefined ? {} : { resolve: options.resolve }),
      ...(options.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: options.connectTimeoutMs }),
    });
  }

  /** Whether a connection to `address` (a literal IPv4 or IPv6 address) is forbidden. */
  isDenied(address: string): boolean {
    return this.deniedBy(address) !== null;
  }

  /**
   * The deny-list entry `address` falls in, or null. An IPv4-mapped IPv6 address (`::ffff:169.254.169.254`) is
   * checked as its IPv4 address as well, since connecting to it reaches that IPv4 host. Anything that is not an
   * address is denied: failing closed costs a confusing error, failing open could cost the metadata endpoint.
   */
  deniedBy(address: string): string | null {
    // A zone id (fe80::1%eth0) names an interface, not part of the address.
    const bare = address.split('%')[0] ?? address;
    const version = isIP(bare);
    if (version === 0) return `not an IP address`;
    const candidates: [string, Family][] = [[bare, version === 4 ? 'ipv4' : 'ipv6']];
    if (version === 6) {
      const mapped = mappedIPv4(bare);
      if (mapped !== null) candidates.push([mapped, 'ipv4']);
    }
    for (const [candidate, family] of candidates) {
      if (!this.all.check(candidate, family)) continue;
      const rule = this.rules.find((r) => r.list.check(candidate, family));
      return rule?.cidr ?? 'APP_HTTP_DENY_CIDRS';
    }
    return null;
  }

  /**
   * A dispatcher of its own for one run, under the same deny list: its connections are not shared with other runs,
   * so every TLS connection it makes is seen by `onSecureConnect` (the check reads the target's certificate there),
   * and `extraCa` (a task's `tls.ca`) is trusted by this run only. The caller must `destroy()` it when done.
   */
  createDispatcher(options: { extraCa?: readonly string[]; onSecureConnect?: (socket: TLSSocket, host: string, port: number) => void }): Agent {
    return createGuardedAgent({
      gate: this,
      ...(this.resolve === undefined ? {} : { resolve: this.resolve }),
      ...(this.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: this.connectTimeoutMs }),
      ...(options.extraCa === undefined ? {} : { extraCa: options.extraCa }),
      ...(options.onSecureConnect === undefined ? {} : { onSecureConnect: options.onSecureConnect }),
    });
  }

  /**
   * Resolves `host` (a name or a literal address) the way the guarded agent does, for connections that do not go
   * through undici (SMTP): every address is checked, and the caller connects only to the addresses returned, so a
   * second resolution cannot swap in a denied one.
   *
   * @throws {DeniedAddressError} when any address of `host` is denied.
   * @throws an `ENOTFOUND` error when the name has no address.
   */
  async allowedAddresses(host: string): Promise<LookupAddress[]> {
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    const version = isIP(bare);
    const addresses = version === 0 ? [...(await (this.resolve ?? systemResolver)(bare))] : [{ address: bare, family: version }];
    if (addresses.length === 0) {
      const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${bare}`);
      err.code = 'ENOTFOUND';
      throw err;
    }
    for (const { address } of addresses) {
      const cidr = this.deniedBy(address);
      if (cidr !== null) throw new DeniedAddressError(bare, address, cidr);
    }
    return addresses;
  }

  /** Closes the agent's pooled connections. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.dispatcher.close().then(() => undefined);
    return this.closing;
  }
}

/** Parses `a.b.c.d/n`, `x::y/n`, or a bare address (taken as a single host). */
export function parseCidr(
  entry: string,
): { address: string; prefix: number; family: Family } | { reason: string } {
  const text = entry.trim();
  if (text === '') return { reason: 'empty' };
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return { reason: `${JSON.stringify(address)} is not an IPv4 or IPv6 address` };
  const max = version === 4 ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const prefixText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
      return { reason: `prefix length must be a whole number from 0 to ${max}` };
    }
    prefix = Number(prefixText);
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:0:0/96`), in any spelling, or null. The WHATWG URL
 * parser does the canonicalisation (`0:0:0:0:0:ffff:a9fe:a9fe` and `::ffff:169.254.169.254` both become
 * `[::ffff:a9fe:a9fe]`), so there is no hand-written IPv6 parser to get wrong.
 */
export function mappedIPv4(ipv6: string): string | null {
  let host: string;
  try {
    host = new URL(`http://[${ipv6}]/`).hostname;
  } catch {
    return null;
  }
  const m = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(host);
  if (m === null) return null;
  const high = Number.parseInt(m[1] ?? '0', 16);
  const low = Number.parseInt(m[2] ?? '0', 16);
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}
