import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import forge from 'node-forge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TlsError } from './errors.js';
import { secureContextOptions } from './options.js';
import {
  createCertificateAuthority,
  issueServingCertificate,
  selfSignedBundle,
  writeBundle,
  type SelfSignedBundle,
} from './self-signed.js';
import { fetchOnce, startServer, withTempDir, type TestServer } from '../../test/support/tls.js';

const SERVICE = 'streamguard.streamguard.svc';
let bundle: SelfSignedBundle;
let server: TestServer;

beforeAll(async () => {
  bundle = selfSignedBundle({ sans: [SERVICE, '10.96.0.10', 'LOCALHOST'] });
  server = await startServer(secureContextOptions(bundle));
});
afterAll(() => server.close());

function extension(cert: forge.pki.Certificate, name: string): Record<string, unknown> {
  const ext = cert.getExtension(name) as Record<string, unknown> | null;
  if (ext === null) throw new Error(`no ${name} extension`);
  return ext;
}

describe('selfSignedBundle', () => {
  it('serves TLS to a client that trusts only its CA, by localhost and by 127.0.0.1', async () => {
    const leaf = new X509Certificate(bundle.certPem);
    for (const host of ['localhost', '127.0.0.1']) {
      const got = await fetchOnce({ port: server.port, ca: bundle.caPem, host });
      expect(got.body).toBe('ok');
      expect(got.fingerprint256).toBe(leaf.fingerprint256);
    }
  });

  it('is verified by the client against the IP SAN when no SNI name is sent', async () => {
    // servername '' turns SNI off; Node then checks the certificate against host 127.0.0.1.
    const got = await fetchOnce({ port: server.port, ca: bundle.caPem, servername: '' });
    expect(got.body).toBe('ok');
  });

  it('is refused for a name it does not carry', async () => {
    const fetch = fetchOnce({ port: server.port, ca: bundle.caPem, servername: 'example.test' });
    await expect(fetch).rejects.toThrow(/altnames/i);
  });

  it('carries typed SANs, localhost and loopback always included, no duplicates', () => {
    const leaf = new X509Certificate(bundle.certPem);
    expect(leaf.subjectAltName?.split(', ')).toEqual([
      `DNS:${SERVICE}`,
      'DNS:localhost',
      'IP Address:10.96.0.10',
      'IP Address:127.0.0.1',
      'IP Address:0:0:0:0:0:0:0:1',
    ]);
  });

  it('returns the leaf expiry, about a year ahead by default', () => {
    const days = (bundle.notAfter.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(364);
    expect(days).toBeLessThanOrEqual(365);
    expect(new Date(new X509Certificate(bundle.certPem).validTo)).toEqual(bundle.notAfter);
  });
});

describe('certificate structure', () => {
  it('CA: critical basicConstraints cA, keyCertSign+cRLSign, SKI, self-signed SHA-256', () => {
    const authority = createCertificateAuthority({ commonName: 'test CA', days: 30 });
    const ca = forge.pki.certificateFromPem(authority.certPem);
    expect(extension(ca, 'basicConstraints')).toMatchObject({ critical: true, cA: true });
    expect(extension(ca, 'keyUsage')).toMatchObject({
      critical: true,
      keyCertSign: true,
      cRLSign: true,
      digitalSignature: false,
    });
    expect(extension(ca, 'subjectKeyIdentifier').subjectKeyIdentifier).toMatch(/^[0-9a-f]{40}$/);
    expect(ca.subject.getField('CN').value).toBe('test CA');
    expect(ca.siginfo.algorithmOid).toBe(forge.pki.oids.sha256WithRSAEncryption);
    expect(ca.verify(ca)).toBe(true);
    const days = (authority.notAfter.getTime() - Date.now()) / 86_400_000;
    expect(Math.round(days)).toBe(30);
  });

  it('leaf: serverAuth, digitalSignature+keyEncipherment, AKI = CA SKI, RSA 2048, SHA-256', () => {
    const authority = createCertificateAuthority();
    const caCert = forge.pki.certificateFromPem(authority.certPem);
    const issued = issueServingCertificate(authority, {
      dnsNames: ['webhook.example'],
      ipAddresses: ['::ffff:127.0.0.1'],
      days: 7,
    });
    const leaf = forge.pki.certificateFromPem(issued.certPem);
    expect(extension(leaf, 'basicConstraints')).toMatchObject({ cA: false });
    expect(extension(leaf, 'extKeyUsage')).toMatchObject({ serverAuth: true });
    expect(extension(leaf, 'keyUsage')).toMatchObject({
      critical: true,
      digitalSignature: true,
      keyEncipherment: true,
      keyCertSign: false,
    });
    // forge leaves AKI as raw DER: SEQUENCE { [0] keyIdentifier (20 bytes) } = the CA's SKI.
    const caSki = caCert.generateSubjectKeyIdentifier().getBytes();
    expect(extension(leaf, 'authorityKeyIdentifier').value).toBe(`\x30\x16\x80\x14${caSki}`);
    expect(leaf.siginfo.algorithmOid).toBe(forge.pki.oids.sha256WithRSAEncryption);
    expect((leaf.publicKey as forge.pki.rsa.PublicKey).n.bitLength()).toBe(2048);
    expect(caCert.verify(leaf)).toBe(true);
    const x509 = new X509Certificate(issued.certPem);
    expect(x509.checkIssued(new X509Certificate(authority.certPem))).toBe(true);
    expect(x509.subjectAltName).toBe('DNS:webhook.example, IP Address:0:0:0:0:0:FFFF:7F00:1');
    expect(x509.checkPrivateKey(createPrivateKey(issued.keyPem))).toBe(true);
  });

  it('uses random positive 16-byte serials', () => {
    const authority = createCertificateAuthority();
    const serials = [1, 2, 3].map(
      () =>
        new X509Certificate(
          issueServingCertificate(authority, { dnsNames: ['a.example'], ipAddresses: [] }).certPem,
        ).serialNumber,
    );
    expect(new Set(serials).size).toBe(3);
    for (const serial of serials) expect(serial).toMatch(/^[4-7][0-9A-F]{31}$/);
  });

  it('rejects unusable names and validity', () => {
    const authority = createCertificateAuthority();
    const issue = (dnsNames: string[], ipAddresses: string[], days?: number) => () =>
      issueServingCertificate(authority, { dnsNames, ipAddresses, days });
    expect(issue([], [])).toThrow(TlsError);
    expect(issue(['bad name'], [])).toThrow(/not a DNS name/);
    expect(issue([], ['fe80::1%eth0'])).toThrow(/not an IP address/);
    expect(issue(['ok.example'], [], 0)).toThrow(/non-zero number of days/);
  });
});

describe('writeBundle', () => {
  it('writes ca.crt, tls.crt and tls.key atomically, key 0600, no temp files left', async () => {
    await withTempDir(async (dir) => {
      const target = join(dir, 'certs');
      const paths = await writeBundle(target, bundle);
      expect(paths).toEqual({
        caPath: join(target, 'ca.crt'),
        certPath: join(target, 'tls.crt'),
        keyPath: join(target, 'tls.key'),
      });
      // Twice: the second write replaces files in place.
      await writeBundle(target, bundle);
      expect((await readdir(target)).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
      expect((await stat(paths.keyPath)).mode & 0o777).toBe(0o600);
      expect(await readFile(paths.keyPath, 'utf8')).toBe(bundle.keyPem);
      expect(await readFile(paths.certPath, 'utf8')).toBe(bundle.certPem);
      expect(await readFile(paths.caPath, 'utf8')).toBe(bundle.caPem);
    });
  });

  it('leaves no temp file behind when a write fails', async () => {
    await withTempDir(async (dir) => {
      // tls.crt is a directory, so the rename over it fails after the temp file was written.
      await mkdir(join(dir, 'tls.crt'));
      await expect(writeBundle(dir, bundle)).rejects.toThrow();
      expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    });
  });
});
