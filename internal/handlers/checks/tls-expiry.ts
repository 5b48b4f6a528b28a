import type { X509Certificate } from 'node:crypto';

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

/** Whether a certificate is under the task's `tls.min_days_left`. */
export function certExpiring(cert: CertFacts, minDaysLeft: number | undefined): boolean {
  return minDaysLeft !== undefined && cert.daysLeft < minDaysLeft;
}
