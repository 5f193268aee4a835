import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { certificateSans } from './sans.js';

// What a TLS Secret holds, read defensively: every part that is missing, garbled, expired or
// inconsistent is treated as absent and reported in `findings`, so the planner repairs exactly
// that part and keeps the rest (a garbled CA key must not throw away a working serving pair).

/** Keys of the Secret (type kubernetes.io/tls): the serving pair, the CA bundle, the CA key. */
export const TLS_CRT = 'tls.crt';
export const TLS_KEY = 'tls.key';
export const CA_CRT = 'ca.crt';
export const CA_KEY = 'ca.key';

/** The Secret's data, decoded to text. */
export interface TlsSecretData {
  [TLS_CRT]?: string;
  [TLS_KEY]?: string;
  [CA_CRT]?: string;
  [CA_KEY]?: string;
}

export interface CaCertificate {
  pem: string;
  x509: X509Certificate;
  fingerprint: string;
  notBefore: number;
  notAfter: number;
}

export interface Signer {
  ca: CaCertificate;
  keyPem: string;
}

export interface ServingPair {
  certPem: string;
  keyPem: string;
  issuer: CaCertificate;
  fingerprint: string;
  notBefore: number;
  notAfter: number;
  sans: string[];
}

export interface SecretFacts {
  /** CAs of the bundle that are usable at `now`, in bundle order. */
  trusted: CaCertificate[];
  /** The CA whose key is `ca.key`, if both are sound and it is trusted. */
  signer?: Signer;
  /** The serving pair, if sound, in date and issued by a trusted CA. */
  serving?: ServingPair;
  /** How many CAs of the bundle had expired (and were dropped) at `now`. */
  expired: number;
  /** What was unusable and therefore ignored, one line each, never quoting key material. */
  findings: string[];
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

export function readSecretData(data: TlsSecretData | undefined, now: number): SecretFacts {
  const findings: string[] = [];
  const { cas: trusted, expired } = readBundle(data?.[CA_CRT], now, findings);
  const signer = readSigner(data?.[CA_KEY], trusted, findings);
  const serving = readServing(data?.[TLS_CRT], data?.[TLS_KEY], trusted, now, findings);
  const parts = { ...(signer ? { signer } : {}), ...(serving ? { serving } : {}) };
  return { trusted, ...parts, expired, findings };
}

/** A CA certificate just issued (PEM), described like the ones read from the Secret. */
export function caFromPem(pem: string): CaCertificate {
  return describe(new X509Certificate(pem));
}

function readBundle(
  text: string | undefined,
  now: number,
  findings: string[],
): { cas: CaCertificate[]; expired: number } {
  let expired = 0;
  if (text === undefined) return { cas: [], expired };
  const blocks = text.match(PEM_CERT) ?? [];
  if (blocks.length === 0) findings.push(`${CA_CRT}: no PEM certificate; ignored`);
  const cas: CaCertificate[] = [];
  blocks.forEach((block, i) => {
    const where = `${CA_CRT}: certificate ${i + 1}`;
    const x509 = parseCertificate(block);
    if (!x509) return void findings.push(`${where} cannot be parsed; dropped`);
    if (!x509.ca) return void findings.push(`${where} is not a CA certificate; dropped`);
    const ca = describe(x509);
    if (ca.notAfter <= now) {
      expired += 1;
      return void findings.push(`${where} expired at ${iso(ca.notAfter)}; dropped`);
    }
    if (cas.some((c) => c.fingerprint === ca.fingerprint)) {
      return void findings.push(`${where} is a duplicate; dropped`);
    }
    cas.push(ca);
  });
  return { cas, expired };
}

function readSigner(
  text: string | undefined,
  trusted: CaCertificate[],
  findings: string[],
): Signer | undefined {
  if (text === undefined) return undefined;
  const key = parseKey(text);
  if (!key) return void findings.push(`${CA_KEY}: not a usable PEM private key; ignored`);
  const ca = trusted.find((c) => c.x509.checkPrivateKey(key));
  if (!ca) return void findings.push(`${CA_KEY}: matches no usable CA in ${CA_CRT}; ignored`);
  return { ca, keyPem: text };
}

function readServing(
  certText: string | undefined,
  keyText: string | undefined,
  trusted: CaCertificate[],
  now: number,
  findings: string[],
): ServingPair | undefined {
  if (certText === undefined && keyText === undefined) return undefined;
  const block = certText?.match(PEM_CERT)?.[0];
  const x509 = block === undefined ? undefined : parseCertificate(block);
  if (!x509) return void findings.push(`${TLS_CRT}: no parsable PEM certificate; ignored`);
  const key = keyText === undefined ? undefined : parseKey(keyText);
  if (!key) return void findings.push(`${TLS_KEY}: not a usable PEM private key; ignored`);
  if (!x509.checkPrivateKey(key)) {
    return void findings.push(`${TLS_KEY}: does not match ${TLS_CRT}; pair ignored`);
  }
  const { notBefore, notAfter, fingerprint } = describe(x509);
  if (notAfter <= now || notBefore > now) {
    return void findings.push(`${TLS_CRT}: not valid at ${iso(now)}; pair ignored`);
  }
  const issuer = trusted.find((ca) => x509.checkIssued(ca.x509) && x509.verify(ca.x509.publicKey));
  if (!issuer) {
    return void findings.push(`${TLS_CRT}: not issued by a usable CA in ${CA_CRT}; pair ignored`);
  }
  return {
    certPem: x509.toString(),
    keyPem: keyText as string,
    issuer,
    fingerprint,
    notBefore,
    notAfter,
    sans: certificateSans(x509.subjectAltName),
  };
}

function describe(x509: X509Certificate): CaCertificate {
  return {
    pem: x509.toString(),
    x509,
    fingerprint: x509.fingerprint256,
    notBefore: Date.parse(x509.validFrom),
    notAfter: Date.parse(x509.validTo),
  };
}

function parseCertificate(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** OpenSSL's messages are dropped: they may quote the input. */
function parseKey(pem: string): KeyObject | undefined {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem) || pem.includes('ENCRYPTED')) {
    return undefined;
  }
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    return undefined;
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
