// An independent check of what a TLS client would accept, at any instant: some CA of the bundle
// issued and signed the certificate, both are in date, and the certificate names the host.
import { X509Certificate } from 'node:crypto';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

export function bundleTrusts(
  bundlePem: string,
  certPem: string,
  at: number,
  host: string,
): boolean {
  const cert = new X509Certificate(certPem);
  if (!inDate(cert, at) || cert.ca || cert.checkHost(host) === undefined) return false;
  return (bundlePem.match(PEM_CERT) ?? []).some((pem) => {
    const ca = new X509Certificate(pem);
    return ca.ca && inDate(ca, at) && cert.checkIssued(ca) && cert.verify(ca.publicKey);
  });
}

export function certificates(bundlePem: string): X509Certificate[] {
  return (bundlePem.match(PEM_CERT) ?? []).map((pem) => new X509Certificate(pem));
}

export function inDate(cert: X509Certificate, at: number): boolean {
  return Date.parse(cert.validFrom) <= at && at < Date.parse(cert.validTo);
}

export const DAY = 86_400_000;
