import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gzip, incompressible, tar, type TarFile } from '../../test/registry-support/images.js';
import { parseScope, parseWwwAuthenticate, scopesCover, tokenTiming } from './auth.js';
import { nextLink } from './client.js';
import { Semaphore, SingleFlight } from './concurrency.js';
import { parseErrorBody, redact, RegistryError } from './errors.js';
import { scanLayerStream } from './layer-scan.js';
import {
  DOCKER_MANIFEST,
  OCI_INDEX,
  OCI_MANIFEST,
  parseManifest,
  selectPlatform,
  type ImageIndex,
} from './manifest.js';
import { backoffMs, parseRetryAfter, retryPolicy } from './retry.js';
import { TarReader } from './tar.js';

describe('WWW-Authenticate', () => {
  it('parses Bearer with quoted parameters and escapes', () => {
    expect(
      parseWwwAuthenticate(
        'Bearer realm="https://auth.example/token",service="reg.example",scope="repository:a/b:pull,push",error="insufficient_scope"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.example/token',
          service: 'reg.example',
          scope: 'repository:a/b:pull,push',
          error: 'insufficient_scope',
        },
      },
    ]);
    expect(parseWwwAuthenticate('Basic realm="a \\"quoted\\" realm", charset=UTF-8')).toEqual([
      { scheme: 'basic', params: { realm: 'a "quoted" realm', charset: 'UTF-8' } },
    ]);
  });

  it('parses several challenges and never throws', () => {
    expect(
      parseWwwAuthenticate('Basic realm="x", Bearer realm="y",service=z').map((c) => c.scheme),
    ).toEqual(['basic', 'bearer']);
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        expect(Array.isArray(parseWwwAuthenticate(s))).toBe(true);
      }),
    );
  });
});

describe('scopes and token timing', () => {
  it('checks that granted scopes cover a needed one', () => {
    expect(parseScope('repository:a/b:pull,push')).toEqual({
      resource: 'repository:a/b',
      actions: ['pull', 'push'],
    });
    expect(scopesCover(['repository:a/b:pull,push'], 'repository:a/b:pull')).toBe(true);
    expect(scopesCover(['repository:a/b:pull'], 'repository:a/b:pull,push')).toBe(false);
    expect(scopesCover(['repository:a/b:pull', 'repository:c:pull'], 'repository:c:pull')).toBe(
      true,
    );
    expect(scopesCover(['repository:a/b:*'], 'repository:a/b:push')).toBe(true);
  });

  it('uses expires_in (default 60 s) and a plausible issued_at, renewing early', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(tokenTiming(undefined, undefined, now)).toMatchObject({
      expiresIn: 60,
      expiresAt: now + 60_000,
      renewAt: now + 48_000,
    });
    expect(tokenTiming(300, '2025-12-31T23:59:50Z', now)).toMatchObject({
      issuedAt: now - 10_000,
      expiresAt: now + 290_000,
      renewAt: now + 260_000,
    });
    // A clock far off is ignored rather than trusted.
    expect(tokenTiming(300, '2030-01-01T00:00:00Z', now).issuedAt).toBe(now);
    expect(tokenTiming(2, undefined, now).renewAt).toBe(now + 1_600);
  });
});

describe('retry policy', () => {
  it('parses Retry-After seconds and HTTP dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  it('full jitter stays below min(cap, base·2^(n-1))', () => {
    const policy = retryPolicy({ baseMs: 100, capMs: 1000 });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (n, r) => {
          const delay = backoffMs(n, policy, () => r);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThan(Math.min(1000, 100 * 2 ** (n - 1)) + 1);
        },
      ),
    );
    expect(() => retryPolicy({ attempts: 0 })).toThrow(RangeError);
  });
});

describe('errors', () => {
  it('redacts tokens and credentials', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const text = redact(
      `Bearer abcdefghijklmnop ${jwt} https://u:p@h/x?X-Amz-Signature=deadbeef {"token":"sekrit"}`,
    );
    expect(text).not.toMatch(/abcdefghijklmnop|eyJzdWIi|u:p@|deadbeef|sekrit/);
    const err = new RegistryError(`bad ${jwt}`, {
      registry: 'r.io',
      repository: 'a/b',
      reference: 'sha256:ab',
      status: 404,
      code: 'MANIFEST_UNKNOWN',
    });
    expect(err.message).toBe('r.io/a/b@sha256:ab: bad <redacted-jwt> (HTTP 404, MANIFEST_UNKNOWN)');
  });

  it('reads registry error bodies', () => {
    expect(
      parseErrorBody('{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}'),
    ).toEqual({
      code: 'NAME_UNKNOWN',
      message: 'repository name not known',
    });
    expect(parseErrorBody('<html>')).toBeUndefined();
  });

  it('follows Link rel="next" relative to the request', () => {
    expect(
      nextLink('</v2/a/tags/list?n=2&last=b>; rel="next"', 'http://h:1/v2/a/tags/list?n=2'),
    ).toBe('http://h:1/v2/a/tags/list?n=2&last=b');
    expect(nextLink('<http://x/y>; rel="prev"', 'http://h/')).toBeUndefined();
  });
});

describe('concurrency helpers', () => {
  it('the semaphore never exceeds its limit', async () => {
    const sem = new Semaphore(3);
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const release = await sem.acquire();
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, i % 3));
        active--;
        release();
        release();
      }),
    );
    expect(peak).toBe(3);
    expect(sem.inUse).toBe(0);
  });

  it('single-flight shares one call and forgets it afterwards', async () => {
    const flight = new SingleFlight<number>();
    let calls = 0;
    const fn = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
      return calls;
    };
    const results = await Promise.all([
      flight.run('k', fn),
      flight.run('k', fn),
      flight.run('k', fn),
    ]);
    expect(results).toEqual([1, 1, 1]);
    expect(await flight.run('k', fn)).toBe(2);
    expect(flight.size).toBe(0);
  });
});

describe('manifests', () => {
  const where = { registry: 'r', repository: 'x' };
  const oci = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'c', digest: 'sha256:x', size: 1 },
      layers: [],
    }),
  );

  it('checks the body mediaType against Content-Type', () => {
    expect(parseManifest(oci, `${OCI_MANIFEST}; charset=utf-8`, where).mediaType).toBe(
      OCI_MANIFEST,
    );
    expect(parseManifest(oci, 'application/json', where).mediaType).toBe(OCI_MANIFEST);
    expect(() => parseManifest(oci, DOCKER_MANIFEST, where)).toThrow(/differs from Content-Type/);
  });

  it('infers OCI types without a body mediaType and refuses schema 1', () => {
    const bare = Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [] }));
    expect(parseManifest(bare, undefined, where).mediaType).toBe(OCI_INDEX);
    const v1 = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'x', fsLayers: [] }));
    expect(() =>
      parseManifest(v1, 'application/vnd.docker.distribution.manifest.v1+prettyjws', where),
    ).toThrow(/schema 1/);
    expect(() => parseManifest(Buffer.from('{'), OCI_MANIFEST, where)).toThrow(/not valid JSON/);
  });

  it('refuses an index entry whose platform lacks string os and architecture', () => {
    const entry = { mediaType: OCI_MANIFEST, digest: `sha256:${'a'.repeat(64)}`, size: 1 };
    const index = (platform: unknown) =>
      Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ ...entry, platform }] }));
    for (const platform of [{}, { os: 'linux' }, { os: 'linux', architecture: 7 }, 'linux', null])
      expect(() => parseManifest(index(platform), OCI_INDEX, where)).toThrow(
        /index without a valid manifests\[\] list/,
      );
    const good = { os: 'linux', architecture: 'amd64', variant: 'v1' };
    expect(parseManifest(index(good), OCI_INDEX, where).mediaType).toBe(OCI_INDEX);
  });

  it('selects platforms with architecture aliases and variants', () => {
    const d = (architecture: string, variant?: string, os = 'linux') => ({
      mediaType: OCI_MANIFEST,
      digest: `sha256:${architecture}${variant ?? ''}`,
      size: 1,
      platform: { os, architecture, ...(variant ? { variant } : {}) },
    });
    const index: ImageIndex = {
      schemaVersion: 2,
      manifests: [
        d('amd64'),
        d('arm', 'v6'),
        d('arm', 'v7'),
        d('arm64', 'v8'),
        d('unknown', undefined, 'unknown'),
      ],
    };
    expect(selectPlatform(index, { os: 'linux', architecture: 'x86_64' })?.digest).toBe(
      'sha256:amd64',
    );
    expect(selectPlatform(index, { os: 'linux', architecture: 'aarch64' })?.digest).toBe(
      'sha256:arm64v8',
    );
    expect(selectPlatform(index, { os: 'linux', architecture: 'arm', variant: 'v7' })?.digest).toBe(
      'sha256:armv7',
    );
    expect(selectPlatform(index, { os: 'linux', architecture: 's390x' })).toBeUndefined();
    expect(selectPlatform(index, { os: 'windows', architecture: 'amd64' })).toBeUndefined();
  });
});

function readAll(archive: Buffer, split: number[] = []): Map<string, Buffer> {
  const found = new Map<string, Buffer>();
  const reader = new TarReader({
    onEntry: () => true,
    onFile: (entry, contents) => found.set(entry.path, contents),
  });
  let pos = 0;
  for (const cut of [...split, archive.length]) {
    reader.write(archive.subarray(pos, Math.max(pos, cut)));
    pos = Math.max(pos, cut);
  }
  expect(reader.ended).toBe(true);
  return found;
}

describe('tar reader', () => {
  it('reads ustar entries, pax long paths and strips ./', () => {
    const long = `deep/${'d'.repeat(120)}/file.txt`;
    const files: TarFile[] = [
      { path: './a.txt', contents: 'hello' },
      { path: 'dir/', contents: '', type: '5' },
      { path: long, contents: 'long one' },
      { path: 'empty', contents: '' },
    ];
    const found = readAll(tar(files));
    expect([...found.keys()]).toEqual(['a.txt', long, 'empty']);
    expect(found.get(long)?.toString()).toBe('long one');
  });

  it('gives the same result however the stream is split', () => {
    const archive = tar([
      { path: 'x', contents: incompressible(1500, 7) },
      { path: 'y', contents: 'small' },
      { path: 'z', contents: incompressible(513, 9) },
    ]);
    const whole = readAll(archive);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: archive.length }), { maxLength: 8 }),
        (cuts) => {
          const parts = readAll(
            archive,
            [...cuts].sort((a, b) => a - b),
          );
          expect(parts).toEqual(whole);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses a corrupt header', () => {
    const archive = tar([{ path: 'x', contents: 'y' }]);
    archive[10] = 0x41;
    expect(() => readAll(archive)).toThrow(/checksum/);
  });
});

describe('layer stream scan', () => {
  async function* chunks(data: Buffer, size = 4096): AsyncGenerator<Buffer> {
    for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
  }
  const archive = tar([
    { path: 'want/a', contents: 'A' },
    { path: 'want/b', contents: 'B' },
    { path: 'rest', contents: incompressible(2 * 1024 * 1024) },
  ]);

  it('stops early on gzip and on plain tar', async () => {
    for (const data of [gzip(archive), archive]) {
      const scan = await scanLayerStream(chunks(data), {
        wanted: (p) => p.startsWith('want/'),
        done: (found) => found.size === 2,
      });
      expect(scan.complete).toBe(false);
      expect(scan.digest).toBeUndefined();
      expect([...scan.files.keys()]).toEqual(['want/a', 'want/b']);
      expect(scan.bytesRead).toBeLessThan(300 * 1024);
    }
  });

  it('reads to the end and digests the whole blob when never done', async () => {
    const data = gzipSync(archive);
    const scan = await scanLayerStream(chunks(data), { wanted: () => false, done: () => false });
    expect(scan).toMatchObject({ complete: true, bytesRead: data.length, compression: 'gzip' });
    expect(scan.digest).toMatch(/^sha256:/);
  });

  it('refuses zstd and corrupt gzip', async () => {
    const zstd = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]);
    await expect(
      scanLayerStream(chunks(zstd), { wanted: () => true, done: () => false }),
    ).rejects.toThrow(/zstd/);
    const bad = gzip(archive);
    bad.fill(0x55, 100, 200);
    await expect(
      scanLayerStream(chunks(bad), { wanted: () => true, done: () => false }),
    ).rejects.toThrow();
  });
});
