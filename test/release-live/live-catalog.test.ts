// LiveReleaseCatalog against a real docker-registry holding the synthetic dual-stream release
// (built from the real upstream fixtures), read through a fault proxy that records every request.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { RegistryClients } from '../../src/release/clients.js';
import { releaseDataPath } from '../../src/release/disk-cache.js';
import { LiveReleaseCatalog, type ReleaseFetchEvent } from '../../src/release/live-catalog.js';
import { pullSecretFromDockerConfig } from '../../src/release/pull-secret.js';
import { parseReference } from '../../src/registry/reference.js';
import { renderReleaseStateFile } from '../../src/release/state-objects.js';
import { parseManifests } from '../../src/state/parse.js';
import { StateReleaseCatalog } from '../../src/state/releases.js';
import type { FaultProxy } from '../registry-support/fault-proxy.js';
import { startProxiedRelease } from '../registry-support/proxied-release.js';
import { setupOrFailEach, type RunningRegistry } from '../registry-support/registry.js';
import {
  RELEASE_REPO,
  VERSION,
  type SyntheticRelease,
} from '../registry-support/release-payload.js';
import { parse } from 'yaml';
import type { ConfigMap } from '../../src/k8s/objects.js';
import { singleAttemptClients, captureLogs, infoView, requestKinds } from './support.js';

let registry: RunningRegistry;
let proxy: FaultProxy;
let payload: SyntheticRelease;
let work: string;
const pools: RegistryClients[] = [];

setupOrFailEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'sg-live-catalog-'));
  ({ registry, proxy, payload } = await startProxiedRelease());
});

beforeEach(() => proxy?.clearRules());

afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
  await proxy?.close();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

function clients(): RegistryClients {
  return singleAttemptClients(pools, proxy.host);
}

/** The proxy's requests made while `fn` runs. */
async function during(fn: () => Promise<unknown>) {
  const before = proxy.requests.length;
  await fn();
  return requestKinds(proxy.requests.slice(before));
}

const tagPullspec = () => payload.release.pullspec;
const digestPullspec = () => `${proxy.host}/${RELEASE_REPO}@${payload.release.digest}`;

describe('LiveReleaseCatalog', () => {
  it('serves the embedded catalog, and says so, until a release is fetched', async () => {
    const catalog = new LiveReleaseCatalog({ clients: clients() });
    expect(catalog.status(tagPullspec())).toBe('unknown');
    expect(infoView(catalog.release(tagPullspec()))).toEqual(
      infoView(new StateReleaseCatalog().release(tagPullspec())),
    );
    expect(catalog.release(tagPullspec()).source).toBe('embedded');
    catalog.prefetch(tagPullspec());
    expect(catalog.status(tagPullspec())).toBe('pending');
    expect(catalog.release(tagPullspec()).source).toBe('embedded');
    expect(await catalog.whenFetched(tagPullspec())).toBe('fetched');
    expect(catalog.status(tagPullspec())).toBe('fetched');
    const info = catalog.release(tagPullspec());
    expect(info.source).toBe('release');
    expect(info.versionFrom).toBe('releaseVersion');
    expect(info.version?.raw).toBe(VERSION);
    expect(info.bootImages.streams).toEqual(['rhel-9', 'rhel-10']);
    expect(info.nodeImages?.get('rhel-10')?.os).toMatch(/@sha256:[0-9a-f]{64}$/);
  });

  it('gives the ReleaseInfo the offline catalog gives for the state file `release fetch` writes', async () => {
    const catalog = new LiveReleaseCatalog({ clients: clients() });
    expect(await catalog.whenFetched(tagPullspec())).toBe('fetched');
    const text = renderReleaseStateFile({
      pullspec: tagPullspec(),
      digest: payload.release.digest,
      version: VERSION,
      imageReferences: payload.imageReferences,
      bootImages: parse(payload.bootImagesYaml) as ConfigMap,
    });
    const offline = new StateReleaseCatalog(parseManifests(text, 'state.yaml'));
    const expected = infoView(offline.release(tagPullspec()));
    expect(expected.source).toBe('release');
    expect(expected.coverage.length).toBeGreaterThan(10);
    expect(infoView(catalog.release(tagPullspec()))).toEqual(expected);
  });

  it('single-flights concurrent prefetches: the registry sees one resolution and one read', async () => {
    const catalog = new LiveReleaseCatalog({ clients: clients() });
    const seen = await during(async () => {
      for (let i = 0; i < 5; i++) catalog.prefetch(tagPullspec());
      const results = await Promise.all(
        Array.from({ length: 8 }, () => catalog.whenFetched(tagPullspec())),
      );
      expect(results).toEqual(Array(8).fill('fetched'));
    });
    // Ping, HEAD of the tag, GET of the manifest by digest, the last layer (read partly).
    expect(seen).toEqual({ 'GET ping': 1, 'HEAD manifest': 1, 'GET manifest': 1, 'GET blob': 1 });
  });

  it('reads a release once for its tag and its digest pullspecs, fetched together or later', async () => {
    const events: ReleaseFetchEvent[] = [];
    const catalog = new LiveReleaseCatalog({ clients: clients(), onFetch: (e) => events.push(e) });
    const before = proxy.requests.length;
    const together = await during(() =>
      Promise.all([catalog.whenFetched(tagPullspec()), catalog.whenFetched(digestPullspec())]),
    );
    expect(together['GET manifest']).toBe(1);
    // One layer read (a digest alone names no architecture, so the small image config is read too).
    const layerReads = proxy.requests
      .slice(before)
      .filter((r) => payload.release.layers.some((l) => r.path.endsWith(`/blobs/${l.digest}`)));
    expect(layerReads).toHaveLength(1);
    const both = `${proxy.host}/${RELEASE_REPO}:${VERSION}-x86_64@${payload.release.digest}`;
    const later = await during(() => catalog.whenFetched(both));
    expect(later).toEqual({});
    expect(events.map((e) => e.digest)).toEqual(Array(3).fill(payload.release.digest));
    expect(events.at(-1)).toMatchObject({ pullspec: both, outcome: 'fetched', from: 'memory' });
    // Each pullspec gets its own ReleaseInfo (engine lookups are by exact pullspec), same data.
    const tag = infoView(catalog.release(tagPullspec()));
    const digest = infoView(catalog.release(digestPullspec()));
    expect(digest.pullspec).toBe(digestPullspec());
    expect({ ...digest, pullspec: '' }).toEqual({ ...tag, pullspec: '' });
  });

  it('reuses the disk cache in a new instance: no layer read, and no request at all by digest', async () => {
    const cacheDir = join(work, 'cache-reuse');
    const first = new LiveReleaseCatalog({ clients: clients(), cacheDir });
    expect(await first.whenFetched(tagPullspec())).toBe('fetched');

    const events: ReleaseFetchEvent[] = [];
    const second = new LiveReleaseCatalog({
      clients: clients(),
      cacheDir,
      onFetch: (e) => events.push(e),
    });
    const byDigest = await during(() => second.whenFetched(digestPullspec()));
    expect(byDigest).toEqual({});
    const byTag = await during(() => second.whenFetched(tagPullspec()));
    expect(byTag).toEqual({ 'GET ping': 1, 'HEAD manifest': 1 });
    expect(events.map((e) => e.from)).toEqual(['disk', 'memory']);
    expect(infoView(second.release(tagPullspec()))).toEqual(infoView(first.release(tagPullspec())));
  });

  it('reads a damaged disk entry again from the registry, and writes it whole', async () => {
    const cacheDir = join(work, 'cache-damaged');
    const first = new LiveReleaseCatalog({ clients: clients(), cacheDir });
    expect(await first.whenFetched(digestPullspec())).toBe('fetched');
    const path = releaseDataPath(cacheDir, 'x86_64', payload.release.digest);
    await writeFile(path, '{"sum":"0","data":{}}');

    const events: ReleaseFetchEvent[] = [];
    const second = new LiveReleaseCatalog({
      clients: clients(),
      cacheDir,
      onFetch: (e) => events.push(e),
    });
    const seen = await during(() => second.whenFetched(digestPullspec()));
    expect(seen['GET manifest']).toBe(1);
    expect(events.map((e) => e.from)).toEqual(['registry']);
    // Rewritten atomically: no temp file left beside it, and a third instance reads it.
    expect(await readdir(join(cacheDir, 'release-data', 'x86_64', 'sha256'))).toEqual([
      `${payload.release.digest.slice('sha256:'.length)}.json`,
    ]);
    const third = new LiveReleaseCatalog({ clients: clients(), cacheDir });
    expect(await during(() => third.whenFetched(digestPullspec()))).toEqual({});
  });

  it('still serves a release whose disk entry cannot be written, and says so in the log', async () => {
    const notADir = join(work, 'cache-is-a-file');
    await writeFile(notADir, 'x');
    const { logger, lines } = captureLogs();
    const catalog = new LiveReleaseCatalog({ clients: clients(), cacheDir: notADir, logger });
    expect(await catalog.whenFetched(tagPullspec())).toBe('fetched');
    expect(catalog.release(tagPullspec()).source).toBe('release');
    const warning = lines.find((l) => l.includes('release data cache not written'));
    expect(warning).toContain(payload.release.digest);
  });

  it('reads the chosen architecture of a multi-arch release, cached apart per architecture', async () => {
    const cacheDir = join(work, 'cache-multi');
    const { children } = payload.multi;
    const amd64 = new LiveReleaseCatalog({ clients: clients(), cacheDir });
    const amd = await during(() => amd64.whenFetched(payload.multi.pullspec));
    expect(amd64.release(payload.multi.pullspec).source).toBe('release');
    const arm64 = new LiveReleaseCatalog({ clients: clients(), cacheDir, arch: 'arm64' });
    const arm = await during(() => arm64.whenFetched(payload.multi.pullspec));
    expect(arm64.release(payload.multi.pullspec).source).toBe('release');
    const layerOf = (image: typeof children.x86_64) =>
      `GET /v2/${RELEASE_REPO}/blobs/${image.layers.at(-1)?.digest}`;
    const paths = proxy.requests.map((r) => `${r.method} ${r.path}`);
    expect(paths).toContain(layerOf(children.x86_64));
    expect(paths).toContain(layerOf(children.aarch64));
    expect(amd['GET blob']).toBe(1);
    expect(arm['GET blob']).toBe(1);
  });

  it('remembers a failure with a backoff, logs it once, and recovers after the backoff', async () => {
    let now = 1_000_000;
    const { logger, lines } = captureLogs();
    const catalog = new LiveReleaseCatalog({
      clients: clients(),
      logger,
      now: () => now,
      backoff: { initialMs: 60_000, maxMs: 600_000 },
    });
    proxy.addRule({ method: 'GET', path: /\/blobs\//, fault: { kind: 'status', status: 503 } });

    expect(await catalog.whenFetched(tagPullspec())).toBe('failed');
    expect(catalog.status(tagPullspec())).toBe('failed');
    expect(catalog.release(tagPullspec()).source).toBe('embedded');
    expect(catalog.failure(tagPullspec())).toMatchObject({
      failures: 1,
      retryAt: now + 60_000,
      message: expect.stringContaining('503') as string,
    });

    // Within the backoff: no attempt, whoever asks.
    const waiting = await during(async () => {
      catalog.prefetch(tagPullspec());
      catalog.release(tagPullspec());
      expect(await catalog.whenFetched(tagPullspec())).toBe('failed');
    });
    expect(waiting).toEqual({});

    // After it: the same failure again, logged at debug only; the backoff doubles.
    now += 60_000;
    expect(await catalog.whenFetched(tagPullspec())).toBe('failed');
    expect(catalog.failure(tagPullspec())).toMatchObject({ failures: 2, retryAt: now + 120_000 });
    const warnings = lines.filter((l) => (JSON.parse(l) as { level: number }).level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(tagPullspec());

    // The registry is back; release() itself starts the retry once the backoff is over.
    proxy.clearRules();
    now += 120_000;
    expect(catalog.release(tagPullspec()).source).toBe('embedded');
    expect(catalog.status(tagPullspec())).toBe('pending');
    expect(await catalog.whenFetched(tagPullspec())).toBe('fetched');
    expect(catalog.release(tagPullspec()).source).toBe('release');
    expect(catalog.failure(tagPullspec())).toBeUndefined();
    expect(lines.some((l) => l.includes('after earlier failures'))).toBe(true);
  });

  it('fails a pullspec that is not an image reference without a request, saying what is wrong', async () => {
    const catalog = new LiveReleaseCatalog({ clients: clients() });
    const seen = await during(async () => {
      expect(await catalog.whenFetched(`${proxy.host}/ocp/release`)).toBe('failed');
    });
    expect(seen).toEqual({});
    expect(catalog.failure(`${proxy.host}/ocp/release`)?.message).toBe(
      `release image "${proxy.host}/ocp/release": a tag or a digest is required`,
    );
    expect(catalog.release(`${proxy.host}/ocp/release`).source).toBe('embedded');
  });

  it('fails a tag the registry does not have', async () => {
    const catalog = new LiveReleaseCatalog({ clients: clients() });
    const missing = `${proxy.host}/${RELEASE_REPO}:4.99.0-x86_64`;
    expect(await catalog.whenFetched(missing)).toBe('failed');
    expect(catalog.failure(missing)?.message).toContain('not found');
    // The embedded fallback keeps the tag's version, as offline.
    expect(catalog.release(missing)).toMatchObject({ source: 'embedded', versionFrom: 'tag' });
  });

  it('keeps at most maxPullspecs pullspecs and maxReleases data sets in memory', async () => {
    const catalog = new LiveReleaseCatalog({ clients: clients(), maxPullspecs: 1, maxReleases: 1 });
    expect(await catalog.whenFetched(tagPullspec())).toBe('fetched');
    expect(await catalog.whenFetched(digestPullspec())).toBe('fetched');
    expect(catalog.status(tagPullspec())).toBe('unknown');
    expect(catalog.status(digestPullspec())).toBe('fetched');
  });
});

describe('RegistryClients', () => {
  const secret = (user: string) =>
    pullSecretFromDockerConfig(
      JSON.stringify({
        auths: { [proxy.host]: { auth: Buffer.from(`${user}:pw`).toString('base64') } },
      }),
      `Secret test/${user}`,
    );

  it('keeps one client per pull secret contents, evicting idle ones but never a busy one', async () => {
    const pool = new RegistryClients({
      client: { insecureRegistries: [proxy.host], retry: { attempts: 1 } },
      maxClients: 1,
    });
    pools.push(pool);
    const ref = parseReference(payload.release.pullspec);
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const busy = pool.use(secret('a'), async (client) => {
      await gate;
      return client.headManifest(ref);
    });
    const seen: unknown[] = [];
    await pool.use(secret('b'), async (client) => seen.push(client));
    await pool.use(secret('b'), async (client) => seen.push(client));
    expect(seen[0]).toBe(seen[1]);
    expect(pool.size).toBe(1);
    release();
    // Evicted while in use, it finished its request before being closed.
    expect((await busy)?.digest).toBe(payload.release.digest);
    await pool.use(undefined, async () => undefined);
    await expect(pool.use(secret('b'), (c) => c.headManifest(ref))).resolves.toBeDefined();
  });
});
