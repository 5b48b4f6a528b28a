import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';

const DAY_MS = 86_400_000;

/** What a check reports of the certificate an https target presented. */
export interface CertFacts {
  /** The certificate's notAfter. */
  expiresAt: Date;
  /** Whole days left until `expiresAt`, rounded down (negative once expired); 13.9 days left is 13. */
  daysLeft: number;
  /** SHA-256 fingerprint: what identifies "this certificate" for `cert_expiring`, which is sent once per certificate. */
  fingerprint: string;
}

/** The facts of a peer certificate at `now` (ms since the epoch). */
export function certFactsOf(cert: X509Certificate, now: number): CertFacts {
  // `validToDate` is Node 22.10+; `validTo` ("Dec  6 23:35:02 2026 GMT") is what Node 20 has, and Date parses it.
  const expiresAt = new Date(cert.validTo);
  return { expiresAt, daysLeft: daysLeft(expiresAt, now), fingerprint: cert.fingerprint256 };
}

export function daysLeft(expiresAt: Date, now: number): number {
  return Math.floor((expiresAt.getTime() - now) / DAY_MS);
}

/**
 * The certificates the TLS connections of one run presented, by origin. `record` is the run dispatcher's
 * `onSecureConnect`; `factsFor` gives the facts of the certificate of the connection that answered the final URL.
 */
export class PeerCertificates {
  readonly #byOrigin = new Map<string, X509Certificate>();

  readonly record = (socket: TLSSocket, host: string, port: number): void => {
    const cert = socket.getPeerX509Certificate();
    if (cert !== undefined) this.#byOrigin.set(originKey(host, port), cert);
  };

  /** The facts at `now` of the certificate that answered `finalUrl`; null for plain http or when none was seen. */
  factsFor(finalUrl: string, now: number): CertFacts | null {
    const url = new URL(finalUrl);
    if (url.protocol !== 'https:') return null;
    const cert = this.#byOrigin.get(originKey(url.hostname, Number(url.port) || 443));
    return cert === undefined ? null : certFactsOf(cert, now);
  }
}

function originKey(host: string, port: number): string {
  return `${host.replace(/^\[(.*)\]$/, '$1')}:${port}`;
}

/** Whether a certificate is under the task's `tls.min_days_left`. */
export function certExpiring(cert: CertFacts, minDaysLeft: number | undefined): boolean {
  return minDaysLeft !== undefined && cert.daysLeft < minDaysLeft;
}
