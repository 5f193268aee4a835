import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import forge from 'node-forge';
import { writeFileAtomic } from '../fsutil/atomic-write.js';
import { TlsError } from './errors.js';

// RSA 2048 throughout: node-forge can build and sign X.509 only with RSA keys (its ECDSA support
// is missing for certificates), and RSA 2048 is what every TLS client accepts.

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
  notAfter: Date;
}

export interface ServingCertificate {
  certPem: string;
  keyPem: string;
  notAfter: Date;
}

export interface SelfSignedBundle {
  caPem: string;
  certPem: string;
  keyPem: string;
  notAfter: Date;
}

export interface BundlePaths {
  caPath: string;
  certPath: string;
  keyPath: string;
}

const DAY_MS = 86_400_000;
const SUBJECT_SOURCE = 'streamguard';
const ALWAYS_SANS = ['localhost', '127.0.0.1', '::1'];

/**
 * A new CA that signs serving certificates only (pathLen 0). Default: 10 years. `now` (epoch ms)
 * is the issuing time, for callers that plan certificate lifetimes with their own clock.
 */
export function createCertificateAuthority(
  options: { commonName?: string; days?: number; now?: number } = {},
): CertificateAuthority {
  const { keyPem, privateKey, publicKey } = newRsaKey();
  const cert = newCertificate(publicKey, options.days ?? 3650, options.now);
  const name = [
    { name: 'commonName', value: options.commonName ?? `streamguard-ca@${unixSeconds()}` },
    { name: 'organizationName', value: SUBJECT_SOURCE },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', critical: true, cA: true, pathLenConstraint: 0 },
    { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem, notAfter: cert.validity.notAfter };
}

/**
 * A serving certificate signed by `ca`. Negative `days` give an already-expired certificate, which
 * is only useful for tests. Default: 1 year.
 */
export function issueServingCertificate(
  ca: CertificateAuthority,
  options: { dnsNames: string[]; ipAddresses: string[]; days?: number; now?: number },
): ServingCertificate {
  const dnsNames = unique(options.dnsNames.map(checkDnsName));
  const ipAddresses = unique(options.ipAddresses.map(checkIpAddress));
  const first = dnsNames[0] ?? ipAddresses[0];
  if (first === undefined) {
    throw new TlsError('serving certificate', 'needs a DNS name or an IP address');
  }
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);

  const { keyPem, publicKey } = newRsaKey();
  const cert = newCertificate(publicKey, options.days ?? 365, options.now);
  // Clients match SANs only; the CN (max 64 characters) is for people reading logs.
  const commonName = first.length <= 64 ? first : SUBJECT_SOURCE;
  cert.setSubject([{ name: 'commonName', value: commonName }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', critical: true, cA: false },
    { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        ...dnsNames.map((value) => ({ type: 2, value })), // dNSName
        ...ipAddresses.map((ip) => ({ type: 7, ip })), // iPAddress
      ],
    },
    { name: 'subjectKeyIdentifier' },
    // Pass the CA's key id: forge's `keyIdentifier: true` would hash this certificate's own key.
    {
      name: 'authorityKeyIdentifier',
      keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes(),
    },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem, notAfter: cert.validity.notAfter };
}

/**
 * A fresh CA and a serving certificate for `sans` (each an IP address or a DNS name) plus
 * localhost, 127.0.0.1 and ::1, for development and tests. The CA key is dropped: nothing else can
 * ever be issued under this CA.
 */
export function selfSignedBundle(options: { sans: string[]; days?: number }): SelfSignedBundle {
  const sans = [...options.sans, ...ALWAYS_SANS];
  const ca = createCertificateAuthority({ days: options.days ?? 365 });
  const leaf = issueServingCertificate(ca, {
    dnsNames: sans.filter((san) => isIP(san) === 0),
    ipAddresses: sans.filter((san) => isIP(san) !== 0),
    ...(options.days === undefined ? {} : { days: options.days }),
  });
  return { caPem: ca.certPem, certPem: leaf.certPem, keyPem: leaf.keyPem, notAfter: leaf.notAfter };
}

/**
 * Writes `ca.crt`, `tls.crt` and `tls.key` (the names of a Kubernetes TLS Secret) into `dir`, each
 * atomically; the key with mode 0600. The key goes before the certificate, so a reloader watching
 * `dir` sees at worst a new key with the old certificate, which it rejects until the certificate
 * lands a moment later.
 */
export async function writeBundle(dir: string, bundle: SelfSignedBundle): Promise<BundlePaths> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const paths = {
    caPath: join(dir, 'ca.crt'),
    certPath: join(dir, 'tls.crt'),
    keyPath: join(dir, 'tls.key'),
  };
  await writeFileAtomic(paths.caPath, bundle.caPem, 0o644);
  await writeFileAtomic(paths.keyPath, bundle.keyPem, 0o600);
  await writeFileAtomic(paths.certPath, bundle.certPem, 0o644);
  return paths;
}

/**
 * Node's native (OpenSSL) RSA keygen takes ~50-300 ms here; forge's pure-JS one takes seconds and
 * varies wildly. forge then only builds and signs the X.509 structures with the key.
 */
function newRsaKey(): {
  keyPem: string;
  privateKey: forge.pki.rsa.PrivateKey;
  publicKey: forge.pki.rsa.PublicKey;
} {
  const { privateKey: keyPem, publicKey: spkiPem } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    keyPem,
    privateKey: forge.pki.privateKeyFromPem(keyPem),
    publicKey: forge.pki.publicKeyFromPem(spkiPem),
  };
}

function newCertificate(
  publicKey: forge.pki.rsa.PublicKey,
  days: number,
  issuedAt = Date.now(),
): forge.pki.Certificate {
  if (!Number.isFinite(days) || days === 0) {
    throw new TlsError('certificate', `validity must be a non-zero number of days, got ${days}`);
  }
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = randomSerial();
  // X.509 times have whole seconds; truncate so `notAfter` equals what parsers report.
  const now = Math.floor(issuedAt / 1000) * 1000;
  const notAfter = now + days * DAY_MS;
  // Backdate an hour for clients whose clocks run behind; an expired test cert gets one day.
  cert.validity.notBefore = new Date(Math.min(now - 3_600_000, notAfter - DAY_MS));
  cert.validity.notAfter = new Date(Math.floor(notAfter / 1000) * 1000);
  return cert;
}

/** 16 random bytes; top bit clear (a positive INTEGER), next bit set (minimal DER, no 0x00 pad). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString('hex');
}

const DNS_LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DNS_NAME = new RegExp(`^(?:\\*\\.)?${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);

function checkDnsName(name: string): string {
  const lower = name.toLowerCase();
  if (lower.length > 253 || !DNS_NAME.test(lower)) {
    throw new TlsError('serving certificate', `not a DNS name: ${JSON.stringify(name)}`);
  }
  return lower;
}

/** IPv6 goes through URL, which compresses it to the plain hex form forge can encode. */
function checkIpAddress(address: string): string {
  const version = isIP(address);
  if (version === 4) return address;
  if (version === 6 && !address.includes('%')) {
    return new URL(`http://[${address}]/`).hostname.slice(1, -1);
  }
  throw new TlsError('serving certificate', `not an IP address: ${JSON.stringify(address)}`);
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
