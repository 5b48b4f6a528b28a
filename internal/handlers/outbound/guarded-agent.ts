import { type LookupAddress, promises as dnsPromises } from 'node:dns';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import { rootCertificates, TLSSocket } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import { DeniedAddressError } from './errors.js';

/**
 * What the agent asks of the policy. Declared here, by its user, so that this file does not depend on the policy
 * class (the policy builds the agent, not the other way round).
 */
export interface AddressGate {
  /** The deny-list entry `address` falls in, or null when it is allowed. */
  deniedBy(address: string): string | null;
}

/** Resolves a host name to every address it has. Swapped in tests to resolve made-up names without DNS. */
export type HostResolver = (hostname: string) => Promise<readonly LookupAddress[]>;

/** `dns.lookup` with every address, in the order the system resolver returns them (what `net.connect` uses). */
export const systemResolver: HostResolver = (hostname) => dnsPromises.lookup(hostname, { all: true, verbatim: true });

export interface GuardedAgentOptions {
  gate: AddressGate;
  /** Default: {@link systemResolver}. */
  resolve?: HostResolver;
  /** TCP (and TLS) connect timeout in ms. Default 10,000, undici's own default. */
  connectTimeoutMs?: number;
  /** PEM certificates trusted besides Node's public CAs (a private CA, a self-signed target). Verification stays on. */
  extraCa?: readonly string[];
  /** Called with every TLS connection once it is established and verified, before any request is sent on it. */
  onSecureConnect?: (socket: TLSSocket, host: string, port: number) => void;
}

/**
 * An undici `Agent` that refuses to connect to a denied address.
 *
 * The check sits in the connector, after name resolution and before the socket opens:
 * - a host name is resolved by our `lookup`, which rejects when ANY of its addresses is denied (a name with one
 *   public and one metadata address must not be usable by chance of ordering), and otherwise hands `net.connect`
 *   exactly the addresses it checked, so a second resolution cannot swap in another one (DNS rebinding);
 * - a literal IP never reaches `lookup` (`net.connect` skips resolution for literals), so it is checked before
 *   the connector runs.
 *
 * Every connection of every redirect hop goes through here, so a redirect cannot lead around the check either.
 */
export function createGuardedAgent(options: GuardedAgentOptions): Agent {
  const { gate } = options;
  const resolve = options.resolve ?? systemResolver;

  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    resolve(hostname).then(
      (addresses) => {
        if (addresses.length === 0) {
          const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
          err.code = 'ENOTFOUND';
          callback(err, []);
          return;
        }
        for (const { address } of addresses) {
          const cidr = gate.deniedBy(address);
          if (cidr !== null) {
            callback(new DeniedAddressError(hostname, address, cidr), []);
            return;
          }
        }
        // All families are resolved and checked above; only now narrow to what the socket asked for.
        const family = lookupOptions.family === 'IPv4' ? 4 : lookupOptions.family === 'IPv6' ? 6 : lookupOptions.family;
        const usable = family === 4 || family === 6 ? addresses.filter((a) => a.family === family) : [...addresses];
        const first = usable[0];
        if (first === undefined) {
          const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname} (no IPv${family} address)`);
          err.code = 'ENOTFOUND';
          callback(err, []);
          return;
        }
        if (lookupOptions.all === true) callback(null, usable);
        else callback(null, first.address, first.family);
      },
      (err: unknown) => callback(err as NodeJS.ErrnoException, []),
    );
  };

  const connect = buildConnector({
    lookup,
    timeout: options.connectTimeoutMs ?? 10_000,
    // `ca` replaces the default trust store, so the public CAs are listed again: an extra CA adds trust, never narrows it.
    ...(options.extraCa === undefined || options.extraCa.length === 0 ? {} : { ca: [...rootCertificates, ...options.extraCa] }),
  });
  const onSecure = options.onSecureConnect;
  const guardedConnect: buildConnector.connector = (connectOptions, callback) => {
    // undici strips the brackets of an IPv6 literal before calling the connector.
    const host = connectOptions.hostname;
    if (isIP(host) !== 0) {
      const cidr = gate.deniedBy(host);
      if (cidr !== null) {
        callback(new DeniedAddressError(host, host, cidr), null);
        return;
      }
    }
    if (onSecure === undefined) {
      connect(connectOptions, callback);
      return;
    }
    connect(connectOptions, (err, socket) => {
      if (err === null && socket instanceof TLSSocket) {
        onSecure(socket, host, Number(connectOptions.port) || 443);
      }
      (callback as (err: Error | null, socket: Socket | TLSSocket | null) => void)(err, socket);
    });
  };
  return new Agent({ connect: guardedConnect });
}
