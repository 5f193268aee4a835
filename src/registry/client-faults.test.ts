import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { rejection } from '../../test/registry-support/assert.js';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../../test/registry-support/fault-proxy.js';
import {
  buildImage,
  gzip,
  incompressible,
  pushImage,
  sha256,
  tar,
} from '../../test/registry-support/images.js';
import {
  setupOrFailEach,
  startRegistry,
  type RunningRegistry,
} from '../../test/registry-support/registry.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import { DOCKER_MANIFEST } from './manifest.js';

let registry: RunningRegistry;
let proxy: FaultProxy;
let repo: string;
const clients: RegistryClient[] = [];

const image = buildImage({
  format: 'oci',
  layers: [gzip(tar([{ path: 'payload', contents: incompressible(200_000) }]))],
});
const plainLayer = tar([{ path: 'big', contents: incompressible(300_000, 5) }]);
const configDigest = sha256(image.config);
const manifestPath = /\/manifests\//;
const blobPath = /\/blobs\/sha256:/;

function newClient(options: RegistryClientOptions = {}): RegistryClient {
  const c = new RegistryClient({
    insecureRegistries: [proxy.host, registry.host],
    retry: { attempts: 4, baseMs: 5, capMs: 50 },
    ...options,
  });
  clients.push(c);
  return c;
}

/** Requests the proxy saw since `start` that match `path`. */
function seen(start: number, path: RegExp) {
  return proxy.requests.slice(start).filter((r) => path.test(r.path));
}

setupOrFailEach(async () => {
  registry = await startRegistry();
  proxy = await startFaultProxy(registry.port);
  repo = `${proxy.host}/faults/app`;
  const setup = new RegistryClient({ insecureRegistries: [proxy.host] });
  await pushImage(setup, repo, 'v1', image);
  await setup.pushBlob(repo, plainLayer);
  await setup.close();
});

beforeEach(() => proxy.clearRules());

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await proxy?.close();
  await registry?.stop();
});

describe('429 and 5xx', () => {
  it('recovers from a 429 storm across concurrent requests, within the attempt bound', async () => {
    const c = newClient({ retry: { attempts: 5, baseMs: 5, capMs: 50 } });
    const blobs = Array.from({ length: 8 }, (_, i) => Buffer.from(`storm blob ${i}`));
    for (const b of blobs) await c.pushBlob(repo, b);
    const tooMany = '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}';
    // Every request is refused three times, half with Retry-After: 0, half left to the backoff.
    for (const [i, b] of blobs.entries()) {
      proxy.addRule({
        path: new RegExp(`/blobs/${sha256(b)}$`),
        times: 3,
        fault: {
          kind: 'status',
          status: 429,
          headers: i % 2 === 0 ? { 'retry-after': '0' } : {},
          body: tooMany,
        },
      });
    }
    proxy.addRule({
      path: /\/manifests\/v1$/,
      times: 3,
      fault: { kind: 'status', status: 429, body: tooMany },
    });
    const start = proxy.requests.length;
    const began = Date.now();
    const results = await Promise.allSettled([
      ...blobs.map((b) => c.fetchBlob(repo, sha256(b))),
      c.getManifest(`${repo}:v1`),
    ]);
    expect(results.map((r) => r.status)).toEqual(Array(9).fill('fulfilled'));
    expect(seen(start, /\/v2\/faults\//).filter((r) => r.status === 429)).toHaveLength(27);
    expect(c.stats()).toMatchObject({ retries: 27, blob: 32, manifest: 4 });
    expect(Date.now() - began).toBeLessThan(5_000);
  });

  it('honours Retry-After (seconds and HTTP date) and pauses the host', async () => {
    const c = newClient();
    await c.headManifest(`${repo}:v1`);
    proxy.addRule({
      path: /\/manifests\/v1$/,
      method: 'GET',
      times: 1,
      fault: { kind: 'status', status: 429, headers: { 'retry-after': '1' } },
    });
    let began = Date.now();
    const manifest = c.getManifest(`${repo}:v1`);
    await new Promise((r) => setTimeout(r, 200));
    // Another request to the same host, started during the pause, waits for it too.
    await c.fetchBlob(repo, configDigest);
    expect(Date.now() - began).toBeGreaterThanOrEqual(950);
    await manifest;
    expect(Date.now() - began).toBeGreaterThanOrEqual(950);

    const date = new Date(Date.now() + 2_000).toUTCString();
    proxy.addRule({
      path: /\/manifests\/v1$/,
      times: 1,
      fault: { kind: 'status', status: 503, headers: { 'retry-after': date } },
    });
    began = Date.now();
    await c.getManifest(`${repo}:v1`);
    expect(Date.now() - began).toBeGreaterThanOrEqual(900);
  });

  it('fails at once when Retry-After is beyond the allowed wait', async () => {
    const c = newClient({ retry: { attempts: 4, baseMs: 5, maxRetryAfterMs: 5_000 } });
    proxy.addRule({
      path: manifestPath,
      fault: { kind: 'status', status: 429, headers: { 'retry-after': '3600' } },
    });
    const start = proxy.requests.length;
    const err = await rejection(c.getManifest(`${repo}:v1`));
    expect(err).toMatchObject({
      status: 429,
      code: 'TOOMANYREQUESTS',
      repository: 'faults/app',
      reference: 'v1',
    });
    expect(err.message).toContain('asks to wait 3600 s');
    expect(seen(start, manifestPath)).toHaveLength(1);
  });

  it('gives up on an endless 429 storm after the configured attempts', async () => {
    const c = newClient({ retry: { attempts: 3, baseMs: 5 } });
    proxy.addRule({
      path: manifestPath,
      fault: {
        kind: 'status',
        status: 429,
        body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"rate limited"}]}',
      },
    });
    const start = proxy.requests.length;
    const err = await rejection(c.getManifest(`${repo}:v1`));
    expect(err).toMatchObject({ status: 429, code: 'TOOMANYREQUESTS', attempts: 3 });
    expect(err.message).toContain('rate limited');
    expect(seen(start, manifestPath)).toHaveLength(3);
  });

  it.each([408, 500, 502, 503, 504])('retries a transient %i', async (status) => {
    const c = newClient();
    proxy.addRule({ path: blobPath, times: 2, fault: { kind: 'status', status } });
    expect((await c.fetchBlob(repo, configDigest)).equals(image.config)).toBe(true);
    expect(c.stats()).toMatchObject({ blob: 3, retries: 2 });
  });

  it('persistent 5xx fails with a clear error after the attempts', async () => {
    const c = newClient();
    proxy.addRule({
      path: manifestPath,
      fault: {
        kind: 'status',
        status: 503,
        body: '{"errors":[{"code":"UNAVAILABLE","message":"backend down"}]}',
      },
    });
    const start = proxy.requests.length;
    const err = await rejection(c.getManifest(`${repo}:v1`));
    expect(err).toMatchObject({
      status: 503,
      code: 'UNAVAILABLE',
      attempts: 4,
      registry: proxy.host,
    });
    expect(err.message).toBe(
      `${repo}:v1: GET manifest failed: backend down (HTTP 503, UNAVAILABLE, 4 attempts)`,
    );
    expect(seen(start, manifestPath)).toHaveLength(4);
  });

  it('does not retry a 404', async () => {
    const c = newClient();
    const start = proxy.requests.length;
    const err = await rejection(c.getManifest(`${repo}:nope`));
    expect(err.code).toBe('MANIFEST_UNKNOWN');
    expect(seen(start, manifestPath)).toHaveLength(1);
  });
});

describe('broken connections and bodies', () => {
  it('retries connection resets', async () => {
    const c = newClient();
    proxy.addRule({ path: manifestPath, times: 2, fault: { kind: 'reset' } });
    expect((await c.getManifest(`${repo}:v1`)).digest).toBe(image.digest);
    expect(c.stats().retries).toBe(2);
  });

  it('persistent resets end in a NETWORK error', async () => {
    const c = newClient();
    proxy.addRule({ path: manifestPath, fault: { kind: 'reset' } });
    const err = await rejection(c.getManifest(`${repo}:v1`));
    expect(err).toMatchObject({ code: 'NETWORK', attempts: 4, reference: 'v1' });
  });

  it('retries a stalled response after the headers timeout', async () => {
    const c = newClient({ timeouts: { headersMs: 300 } });
    proxy.addRule({ path: manifestPath, times: 1, fault: { kind: 'delay', ms: 1_000 } });
    expect((await c.getManifest(`${repo}:v1`)).digest).toBe(image.digest);
    expect(c.stats().retries).toBe(1);
  });

  it('a body cut off mid-stream is refused, then fetched again', async () => {
    const c = newClient();
    proxy.addRule({ path: blobPath, times: 1, fault: { kind: 'truncate', bytes: 50 } });
    expect((await c.fetchBlob(repo, configDigest)).equals(image.config)).toBe(true);
    expect(c.stats()).toMatchObject({ blob: 2, retries: 1 });

    proxy.addRule({ path: blobPath, fault: { kind: 'truncate', bytes: 100_000 } });
    const err = await rejection(
      c.scanLayer(
        repo,
        sha256(plainLayer),
        () => false,
        () => false,
      ),
    );
    expect(['NETWORK', 'TRUNCATED']).toContain(err.code);
    expect(err.attempts).toBe(4);
  });

  it('a well-formed but short body is refused as a digest mismatch, not retried', async () => {
    const c = newClient();
    proxy.addRule({ path: blobPath, fault: { kind: 'short', bytes: 20 } });
    const start = proxy.requests.length;
    const err = await rejection(c.fetchBlob(repo, configDigest));
    expect(err).toMatchObject({ code: 'DIGEST_MISMATCH', reference: configDigest });
    expect(seen(start, blobPath)).toHaveLength(1);
  });
});

describe('wrong content', () => {
  it('refuses a manifest whose bytes do not match the digest asked for', async () => {
    const c = newClient();
    proxy.addRule({ path: manifestPath, fault: { kind: 'corrupt' } });
    const err = await rejection(c.getManifest(`${repo}@${image.digest}`));
    expect(err.code).toBe('DIGEST_MISMATCH');
    expect(err.message).toContain(`${repo}@${image.digest}`);
  });

  it('refuses a manifest by tag that does not match Docker-Content-Digest', async () => {
    const c = newClient();
    proxy.addRule({ path: manifestPath, fault: { kind: 'corrupt' } });
    expect((await rejection(c.getManifest(`${repo}:v1`))).code).toBe('DIGEST_MISMATCH');
  });

  it('refuses a body mediaType that differs from Content-Type', async () => {
    const c = newClient();
    proxy.addRule({
      path: manifestPath,
      fault: {
        kind: 'replace',
        body: image.manifest,
        headers: { 'content-type': DOCKER_MANIFEST },
      },
    });
    const err = await rejection(c.getManifest(`${repo}:v1`));
    expect(err.code).toBe('MEDIA_TYPE_MISMATCH');
  });

  it('refuses wrong blob bytes and a fully read layer that does not match', async () => {
    const c = newClient();
    proxy.addRule({ path: blobPath, fault: { kind: 'corrupt' } });
    expect((await rejection(c.fetchBlob(repo, configDigest))).code).toBe('DIGEST_MISMATCH');
    const err = await rejection(
      c.scanLayer(
        repo,
        sha256(plainLayer),
        () => true,
        () => false,
      ),
    );
    expect(err.code).toBe('DIGEST_MISMATCH');
  });
});

describe('transport', () => {
  it('bounds requests in flight with the concurrency semaphore', async () => {
    const c = newClient({ concurrency: 2 });
    const blobs = Array.from({ length: 6 }, (_, i) => Buffer.from(`blob number ${i}`));
    for (const b of blobs) await c.pushBlob(repo, b);
    proxy.addRule({ path: blobPath, fault: { kind: 'delay', ms: 200 } });
    proxy.resetMaxInflight();
    await Promise.all(blobs.map((b) => c.fetchBlob(repo, sha256(b))));
    expect(proxy.maxInflight()).toBe(2);
    proxy.resetMaxInflight();
    const wide = newClient({ concurrency: 8 });
    await Promise.all(blobs.map((b) => wide.fetchBlob(repo, sha256(b))));
    expect(proxy.maxInflight()).toBe(6);
  });

  it('follows Link pages of tags/list', async () => {
    const c = newClient();
    const page1 = Buffer.from(JSON.stringify({ name: 'faults/app', tags: ['a', 'b'] }));
    const page2 = Buffer.from(JSON.stringify({ name: 'faults/app', tags: ['c'] }));
    proxy.addRule({
      path: /tags\/list\?n=2$/,
      fault: {
        kind: 'replace',
        body: page1,
        headers: { link: '</v2/faults/app/tags/list?n=2&last=b>; rel="next"' },
      },
    });
    proxy.addRule({ path: /last=b/, fault: { kind: 'replace', body: page2 } });
    expect(await c.listTags(repo, { pageSize: 2 })).toEqual(['a', 'b', 'c']);
    expect(c.stats().tags).toBe(2);
  });

  it('follows blob redirects', async () => {
    const c = newClient();
    proxy.addRule({
      path: blobPath,
      times: 1,
      fault: { kind: 'redirect', location: `${registry.url}/v2/faults/app/blobs/${configDigest}` },
    });
    expect((await c.fetchBlob(repo, configDigest)).equals(image.config)).toBe(true);
    expect(c.stats().blob).toBe(2);
  });

  it('does not send the registry credentials to a redirect target on another origin', async () => {
    const seenHeaders: IncomingHttpHeaders[] = [];
    const storage = await listen(
      createServer((req, res) => {
        seenHeaders.push(req.headers);
        res.writeHead(200, { 'content-length': String(image.config.length) });
        res.end(image.config);
      }),
    );
    const fakeRegistry = await listen(
      createServer((req, res) => {
        if (req.url === '/v2/') {
          res.writeHead(401, { 'www-authenticate': 'Basic realm="fake"', 'content-length': '0' });
          res.end();
          return;
        }
        const authorized = req.headers.authorization !== undefined;
        res.writeHead(authorized ? 307 : 401, {
          location: `http://127.0.0.1:${storage.port}/bucket/object?X-Amz-Signature=abc`,
          'content-length': '0',
        });
        res.end();
      }),
    );
    try {
      const host = `127.0.0.1:${fakeRegistry.port}`;
      const { writeFile, mkdtemp, rm } = await import('node:fs/promises');
      const { tmpdir } = await import('node:os');
      const { join } = await import('node:path');
      const dir = await mkdtemp(join(tmpdir(), 'sg-redirect-'));
      const authfile = join(dir, 'auth.json');
      await writeFile(
        authfile,
        JSON.stringify({ auths: { [host]: { auth: Buffer.from('u:p').toString('base64') } } }),
      );
      const c = newClient({ insecureRegistries: [host], authfile });
      expect((await c.fetchBlob(`${host}/x/y`, configDigest)).equals(image.config)).toBe(true);
      expect(seenHeaders).toHaveLength(1);
      expect(seenHeaders[0]?.authorization).toBeUndefined();
      await rm(dir, { recursive: true, force: true });
    } finally {
      await close(storage.server);
      await close(fakeRegistry.server);
    }
  });
});

async function listen(server: Server): Promise<{ server: Server; port: number }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
