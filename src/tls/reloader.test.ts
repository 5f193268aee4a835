import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../fsutil/atomic-write.js';
import { TlsError } from './errors.js';
import { TLS_SERVER_OPTIONS, secureContextOptions } from './options.js';
import type { KeyPair } from './pair.js';
import { CertificateReloader } from './reloader.js';
import {
  createCertificateAuthority,
  issueServingCertificate,
  type CertificateAuthority,
  type ServingCertificate,
} from './self-signed.js';
import { fetchOnce, startServer, withTempDir, type TestServer } from '../../test/support/tls.js';

let ca: CertificateAuthority;
let first: ServingCertificate;
let second: ServingCertificate;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(() => {
  ca = createCertificateAuthority();
  const names = { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] };
  first = issueServingCertificate(ca, names);
  second = issueServingCertificate(ca, names);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

/** Resolves with the next `event`, or fails after 5 s. */
function next(reloader: CertificateReloader, event: 'reloaded' | 'rejected'): Promise<unknown> {
  return once(reloader, event, { signal: AbortSignal.timeout(5000) }).then(([value]) => value);
}

/** A server with no certificate of its own: the reloader applies every pair, as in production. */
async function serveFrom(certPath: string, keyPath: string, pollMs = 0) {
  const server: TestServer = await startServer({ ...TLS_SERVER_OPTIONS });
  cleanups.push(() => server.close());
  const applied: KeyPair[] = [];
  const reloader = new CertificateReloader({
    certPath,
    keyPath,
    debounceMs: 50,
    pollMs,
    apply: (pair) => {
      server.server.setSecureContext(secureContextOptions(pair));
      applied.push(pair);
    },
  });
  cleanups.push(() => reloader.stop());
  await reloader.start();
  const served = async () =>
    (await fetchOnce({ port: server.port, ca: ca.certPem })).fingerprint256;
  return { server, reloader, applied, served };
}

async function writePair(dir: string, pair: ServingCertificate): Promise<void> {
  await writeFileAtomic(join(dir, 'tls.key'), pair.keyPem, 0o600);
  await writeFileAtomic(join(dir, 'tls.crt'), pair.certPem, 0o644);
}

describe('CertificateReloader', () => {
  it('serves a new pair to new connections; a keep-alive connection carries on', async () => {
    await withTempDir(async (dir) => {
      await writePair(dir, first);
      const { server, reloader, served } = await serveFrom(
        join(dir, 'tls.crt'),
        join(dir, 'tls.key'),
      );
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      cleanups.push(() => agent.destroy());
      const keepAlive = () => fetchOnce({ port: server.port, ca: ca.certPem, agent });
      const before = await keepAlive();
      expect(before.fingerprint256).toBe(fingerprint(first.certPem));

      const reloaded = next(reloader, 'reloaded');
      await writePair(dir, second);
      expect(await reloaded).toMatchObject({ fingerprint256: fingerprint(second.certPem) });
      expect(reloader.current().fingerprint256).toBe(fingerprint(second.certPem));

      expect(await served()).toBe(fingerprint(second.certPem));
      // Same connection, so still the handshake (and certificate) from before the swap.
      const after = await keepAlive();
      expect(after).toMatchObject({ body: 'ok', reusedSocket: true });
      expect(after.socket).toBe(before.socket);
    });
  });

  it('rejects a certificate whose key has not arrived yet, then takes the pair', async () => {
    await withTempDir(async (dir) => {
      await writePair(dir, first);
      const { reloader, served, applied } = await serveFrom(
        join(dir, 'tls.crt'),
        join(dir, 'tls.key'),
      );
      const rejected = next(reloader, 'rejected');
      await writeFileAtomic(join(dir, 'tls.crt'), second.certPem, 0o644);
      const error = (await rejected) as TlsError;
      expect(error).toBeInstanceOf(TlsError);
      expect(error.message).toMatch(/tls\.key: private key does not match the certificate/);
      expect(await served()).toBe(fingerprint(first.certPem));

      await sleep(300); // the key lands well after the debounce window
      const reloaded = next(reloader, 'reloaded');
      await writeFileAtomic(join(dir, 'tls.key'), second.keyPem, 0o600);
      await reloaded;
      expect(await served()).toBe(fingerprint(second.certPem));
      expect(applied.map((pair) => pair.fingerprint256)).toEqual([
        fingerprint(first.certPem),
        fingerprint(second.certPem),
      ]);
    });
  });

  it('keeps serving the old pair when the new one is bad, and recovers', async () => {
    await withTempDir(async (dir) => {
      await writePair(dir, first);
      const { reloader, served } = await serveFrom(join(dir, 'tls.crt'), join(dir, 'tls.key'));
      const rejected = next(reloader, 'rejected');
      // In place, not atomic: what a reader sees while a careless writer is half done.
      await writeFile(join(dir, 'tls.crt'), second.certPem.slice(0, 500));
      const error = (await rejected) as Error;
      expect(error.message).toMatch(/tls\.crt: PEM certificate cannot be parsed/);
      expect(error.message).not.toContain('PRIVATE KEY');
      expect(await served()).toBe(fingerprint(first.certPem));
      expect(reloader.current().fingerprint256).toBe(fingerprint(first.certPem));

      const reloaded = next(reloader, 'reloaded');
      await writePair(dir, second);
      await reloaded;
      expect(await served()).toBe(fingerprint(second.certPem));
    });
  });

  it('reloads on a Kubernetes Secret volume update (..data symlink swap)', async () => {
    await withTempDir(async (dir) => {
      // The kubelet's layout: files in a timestamped dir, ..data -> it, tls.crt -> ..data/tls.crt.
      const version = async (name: string, pair: ServingCertificate) => {
        await mkdir(join(dir, name));
        await writeFile(join(dir, name, 'tls.crt'), pair.certPem);
        await writeFile(join(dir, name, 'tls.key'), pair.keyPem, { mode: 0o600 });
      };
      await version('..2026_01_01_00_00_00.1', first);
      await symlink('..2026_01_01_00_00_00.1', join(dir, '..data'));
      await symlink('..data/tls.crt', join(dir, 'tls.crt'));
      await symlink('..data/tls.key', join(dir, 'tls.key'));
      const { reloader, served } = await serveFrom(join(dir, 'tls.crt'), join(dir, 'tls.key'));

      const reloaded = next(reloader, 'reloaded');
      await version('..2026_01_02_00_00_00.2', second);
      await symlink('..2026_01_02_00_00_00.2', join(dir, '..data_tmp'));
      await rename(join(dir, '..data_tmp'), join(dir, '..data'));
      await rm(join(dir, '..2026_01_01_00_00_00.1'), { recursive: true });
      await reloaded;
      expect(await served()).toBe(fingerprint(second.certPem));
    });
  });

  it('ignores events that leave the pair as it was, and stops on stop()', async () => {
    await withTempDir(async (dir) => {
      await writePair(dir, first);
      const { reloader, applied } = await serveFrom(join(dir, 'tls.crt'), join(dir, 'tls.key'));
      const events: string[] = [];
      reloader.on('reloaded', () => events.push('reloaded'));
      reloader.on('rejected', () => events.push('rejected'));
      await writeFile(join(dir, 'ca.crt'), ca.certPem);
      await writePair(dir, first); // same contents, new files
      await sleep(300);
      expect(events).toEqual([]);

      reloader.stop();
      await writePair(dir, second);
      await sleep(300);
      expect(events).toEqual([]);
      expect(applied).toHaveLength(1);
      expect(reloader.current().fingerprint256).toBe(fingerprint(first.certPem));
    });
  });

  it('start() throws a TlsError and applies nothing when the initial pair is bad', async () => {
    await withTempDir(async (dir) => {
      await writeFileAtomic(join(dir, 'tls.crt'), first.certPem, 0o644);
      await writeFileAtomic(join(dir, 'tls.key'), second.keyPem, 0o600);
      let applied = 0;
      const reloader = new CertificateReloader({
        certPath: join(dir, 'tls.crt'),
        keyPath: join(dir, 'tls.key'),
        apply: () => applied++,
      });
      await expect(reloader.start()).rejects.toThrow(TlsError);
      expect(applied).toBe(0);
      expect(() => reloader.current()).toThrow(/not started/);
      reloader.stop();
    });
  });
});
