import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { TlsError } from './errors.js';

/** A certificate (chain) and its private key, checked to belong together and to be in date. */
export interface KeyPair {
  /** The whole certificate file: the serving certificate first, then any intermediates. */
  certPem: string;
  keyPem: string;
  notAfter: Date;
  subject: string;
  /** SHA-256 of the serving certificate, colon-separated hex, as `X509Certificate` gives it. */
  fingerprint256: string;
}

/**
 * Reads and checks a certificate and key. Throws a TlsError naming the file and the fault. No
 * error carries key material: OpenSSL's own errors are replaced, never quoted or chained.
 */
export async function loadKeyPair(certPath: string, keyPath: string): Promise<KeyPair> {
  const [certPem, keyPem] = await Promise.all([
    readPem(certPath, 'certificate'),
    readPem(keyPath, 'private key'),
  ]);
  const cert = parseCertificate(certPath, certPem);
  const key = parsePrivateKey(keyPath, keyPem);

  const notAfter = new Date(cert.validTo);
  if (!(notAfter.getTime() > Date.now())) {
    throw new TlsError(certPath, `certificate expired at ${notAfter.toISOString()}`);
  }
  if (!cert.checkPrivateKey(key)) {
    throw new TlsError(keyPath, `private key does not match the certificate in ${certPath}`);
  }
  return { certPem, keyPem, notAfter, subject: cert.subject, fingerprint256: cert.fingerprint256 };
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'file not found' : (code ?? 'read failed');
    throw new TlsError(path, `cannot read ${what}: ${why}`);
  }
}

function parseCertificate(path: string, pem: string): X509Certificate {
  // Checked first so that a key put where the certificate belongs gets a clear message.
  if (pem.includes('PRIVATE KEY-----')) {
    throw new TlsError(path, 'holds a private key, expected a PEM certificate');
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new TlsError(path, 'not a PEM certificate (no BEGIN CERTIFICATE block)');
  }
  try {
    return new X509Certificate(pem);
  } catch {
    throw new TlsError(path, 'PEM certificate cannot be parsed (truncated or corrupt?)');
  }
}

function parsePrivateKey(path: string, pem: string): KeyObject {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    throw new TlsError(path, 'no PEM-encoded private key in the file');
  }
  if (pem.includes('ENCRYPTED PRIVATE KEY') || pem.includes('Proc-Type: 4,ENCRYPTED')) {
    throw new TlsError(path, 'private key is encrypted; an unencrypted key is required');
  }
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new TlsError(path, 'PEM private key cannot be parsed (truncated or corrupt?)');
  }
}
