import { X509Certificate } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { TlsError } from './errors.js';
import { loadKeyPair } from './pair.js';
import {
  createCertificateAuthority,
  issueServingCertificate,
  type CertificateAuthority,
  type ServingCertificate,
} from './self-signed.js';
import { withTempDir } from '../../test/support/tls.js';

let ca: CertificateAuthority;
let good: ServingCertificate;
let other: ServingCertificate;

beforeAll(() => {
  ca = createCertificateAuthority();
  const names = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] };
  good = issueServingCertificate(ca, names);
  other = issueServingCertificate(ca, names);
});

/** Writes the two files and returns loadKeyPair's error, checked to be a safe TlsError. */
async function failure(certText: string, keyText: string | undefined): Promise<TlsError> {
  return withTempDir(async (dir) => {
    const certPath = join(dir, 'tls.crt');
    const keyPath = join(dir, 'tls.key');
    await writeFile(certPath, certText);
    if (keyText !== undefined) await writeFile(keyPath, keyText);
    const err = await loadKeyPair(certPath, keyPath).then(
      () => expect.fail('loadKeyPair accepted a bad pair'),
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TlsError);
    const tlsError = err as TlsError;
    // Nothing a logger might print may carry key material.
    const printed = [tlsError.message, tlsError.stack, String(tlsError.cause), tlsError.reason];
    for (const text of printed) expect(text).not.toMatch(/PRIVATE KEY|MII/);
    expect(tlsError.cause).toBeUndefined();
    // Paths are under a random temp dir; report them relative to it.
    return new TlsError(
      tlsError.where.replaceAll(dir, '<dir>'),
      tlsError.reason.replaceAll(dir, '<dir>'),
    );
  });
}

describe('loadKeyPair', () => {
  it('returns a matching, in-date pair with its identity', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'tls.crt'), good.certPem + ca.certPem); // leaf + chain
      await writeFile(join(dir, 'tls.key'), good.keyPem);
      const pair = await loadKeyPair(join(dir, 'tls.crt'), join(dir, 'tls.key'));
      const x509 = new X509Certificate(good.certPem);
      expect(pair).toEqual({
        certPem: good.certPem + ca.certPem,
        keyPem: good.keyPem,
        notAfter: good.notAfter,
        subject: 'CN=localhost',
        fingerprint256: x509.fingerprint256,
      });
    });
  });

  it('names a missing file', async () => {
    const err = await failure(good.certPem, undefined);
    expect(err.message).toBe('<dir>/tls.key: cannot read private key: file not found');
  });

  it('names a certificate file that is not PEM', async () => {
    const err = await failure('hello', good.keyPem);
    expect(err.message).toBe('<dir>/tls.crt: not a PEM certificate (no BEGIN CERTIFICATE block)');
  });

  it('names a truncated (half-written) certificate', async () => {
    const err = await failure(good.certPem.slice(0, 600), good.keyPem);
    expect(err.message).toBe(
      '<dir>/tls.crt: PEM certificate cannot be parsed (truncated or corrupt?)',
    );
  });

  it('says so when the key sits where the certificate belongs, without quoting it', async () => {
    const err = await failure(good.keyPem, good.keyPem);
    expect(err.message).toBe('<dir>/tls.crt: holds a private key, expected a PEM certificate');
  });

  it('names a key file that is not PEM, and a truncated key', async () => {
    expect((await failure(good.certPem, good.certPem)).message).toBe(
      '<dir>/tls.key: no PEM-encoded private key in the file',
    );
    expect((await failure(good.certPem, good.keyPem.slice(0, 400))).message).toBe(
      '<dir>/tls.key: PEM private key cannot be parsed (truncated or corrupt?)',
    );
  });

  it('refuses a key that belongs to another certificate', async () => {
    const err = await failure(good.certPem, other.keyPem);
    expect(err.message).toBe(
      '<dir>/tls.key: private key does not match the certificate in <dir>/tls.crt',
    );
  });

  it('refuses an expired certificate and says when it expired', async () => {
    const expired = issueServingCertificate(ca, {
      dnsNames: ['localhost'],
      ipAddresses: [],
      days: -2,
    });
    const err = await failure(expired.certPem, expired.keyPem);
    expect(err.message).toBe(
      `<dir>/tls.crt: certificate expired at ${expired.notAfter.toISOString()}`,
    );
  });
});
