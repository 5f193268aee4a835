// readRelease against a real registry holding a synthetic release payload built from the real
// upstream fixtures (test/registry-support/release-payload.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseBootImagesConfigMap } from '../../src/catalog/bootimages-configmap.js';
import { readRelease, ReleaseError } from '../../src/mirror/release-reader.js';
import { RegistryClient, RegistryError, type RequestStats } from '../../src/registry/index.js';
import { buildImage, gzip, pushImage, tar } from '../registry-support/images.js';
import {
  setupOrFailEach,
  startRegistry,
  type RunningRegistry,
} from '../registry-support/registry.js';
import {
  INDEX_TAGS,
  NODE_TAGS,
  pushReleasePayloadTo,
  VERSION,
  type SyntheticRelease,
} from '../registry-support/release-payload.js';

let registry: RunningRegistry;
let payload: SyntheticRelease;
let cacheRoot: string;
const clients: RegistryClient[] = [];

function client(cacheDir?: string): RegistryClient {
  const c = new RegistryClient({
    insecureRegistries: [registry.host],
    ...(cacheDir ? { cacheDir } : {}),
  });
  clients.push(c);
  return c;
}

/** Manifest + config + layers of a pushed release image, from what was pushed. */
function pushedSize(image: SyntheticRelease['release']): number {
  return image.manifestSize + image.configSize + image.layers.reduce((s, l) => s + l.size, 0);
}

/** Request counts without the zero entries, for readable assertions. */
function counts(stats: RequestStats): Partial<RequestStats> {
  return Object.fromEntries(Object.entries(stats).filter(([, n]) => n > 0));
}

setupOrFailEach(async () => {
  registry = await startRegistry();
  cacheRoot = await mkdtemp(join(tmpdir(), 'sg-reader-cache-'));
  payload = await pushReleasePayloadTo(registry.host);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await registry?.stop();
  if (cacheRoot) await rm(cacheRoot, { recursive: true, force: true });
});

describe('readRelease', () => {
  it('reads version, components, streams and boot images from the last layer only, stopping early', async () => {
    const c = client();
    const data = await readRelease(c, payload.release.pullspec, { withSizes: false });
    expect(data.version).toBe(VERSION);
    expect(data.arch).toBe('x86_64');
    expect(data.digest).toBe(payload.release.digest);
    expect(data.mediaType).toBe(payload.release.mediaType);
    expect(data.components).toHaveLength(185);
    expect(data.components.map((x) => x.tag)).toEqual(payload.components.map((x) => x.tag));
    const streams = Object.fromEntries(
      data.components.filter((x) => x.stream).map((x) => [x.tag, x.stream]),
    );
    expect(streams).toEqual(NODE_TAGS);
    expect(data.components.every((x) => x.size === undefined)).toBe(true);
    expect(data.size).toBeUndefined();
    expect(data.kubevirtSizes).toBeUndefined();
    expect(data.releaseMetadata).toEqual(payload.releaseMetadata);
    expect(data.imageReferences).toEqual(payload.imageReferences);

    const parsed = parseBootImagesConfigMap(data.bootImages ?? {}, 'test');
    expect(parsed.releaseVersion).toBe(VERSION);
    expect(parsed.catalog.multiStream).toBe(true);
    expect(parsed.catalog.streams).toEqual(['rhel-9', 'rhel-10']);
    expect(parsed.catalog.stream('rhel-10')?.architectures.get('x86_64')?.kubevirt?.digestRef).toBe(
      payload.kubevirt['rhel-10'].digestRef,
    );

    // Only the last layer, and only its beginning: the wanted files come first.
    const last = payload.release.layers.at(-1);
    expect(data.scan.layersRead).toBe(1);
    expect(data.scan.layers).toBe(2);
    expect(data.scan.layerBytes).toBe(last?.size);
    expect(data.scan.bytesRead).toBeGreaterThan(0);
    expect(data.scan.bytesRead).toBeLessThan((last?.size ?? 0) / 2);
    expect(counts(c.stats())).toEqual({ ping: 1, manifest: 1, blob: 1, total: 3 });
  });

  it('sizes every component and KubeVirt disk with one manifest GET each (index: plus its child), shared blobs kept apart', async () => {
    const c = client();
    const seen: number[] = [];
    const data = await readRelease(c, payload.release.pullspec, {
      withSizes: true,
      onProgress: (p) => {
        expect(p.total).toBe(185);
        seen.push(p.done);
      },
    });
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(185);
    expect(seen).toHaveLength(186);
    for (const expected of payload.components) {
      const got = data.components.find((x) => x.tag === expected.tag);
      expect(got, expected.tag).toMatchObject({
        digest: expected.digest,
        mediaType: expected.mediaType,
        size: expected.size,
        layers: expected.layers,
      });
    }
    const media = new Set(data.components.map((x) => x.mediaType));
    expect(media.size).toBe(3); // Docker v2, OCI manifest, OCI index
    // The release image, from the manifest already read; both disks, by their digest-ref.
    expect(data.size).toBe(pushedSize(payload.release));
    expect(data.layers).toEqual(payload.release.layers);
    const disks = Object.values(payload.kubevirt);
    expect(data.kubevirtSizes).toEqual(
      Object.fromEntries(
        disks.map((k) => [k.digestRef, { mediaType: k.mediaType, size: k.size, layers: k.layers }]),
      ),
    );
    // ping, release manifest, layer, 185 component manifests + 3 index children + 2 disks.
    expect(counts(c.stats())).toEqual({
      ping: 1,
      manifest: 1 + 185 + INDEX_TAGS.length + 2,
      blob: 1,
      total: 193,
    });
  });

  it('rereads a release from the cache directory with one request (the tag)', async () => {
    const cacheDir = join(cacheRoot, 'rerun');
    const first = await readRelease(client(cacheDir), payload.release.pullspec, {
      withSizes: true,
      cacheDir,
    });
    expect(first.scan.fromCache).toBe(false);
    const c = client(cacheDir);
    const again = await readRelease(c, payload.release.pullspec, { withSizes: true, cacheDir });
    expect(again.scan.fromCache).toBe(true);
    expect(again.scan.bytesRead).toBe(0);
    const { scan: _a, ...restFirst } = first;
    const { scan: _b, ...restAgain } = again;
    expect(restAgain).toEqual(restFirst);
    expect(counts(c.stats())).toEqual({ ping: 1, manifest: 1, total: 2 });
  });

  it('resolves a multi-arch release index per --arch and sizes index components for it', async () => {
    const c = client();
    const data = await readRelease(c, payload.multi.pullspec, { withSizes: true, arch: 'aarch64' });
    expect(data.arch).toBe('multi');
    expect(data.digest).toBe(payload.multi.digest);
    expect(data.image).toEqual({
      digest: payload.multi.children.aarch64.digest,
      mediaType: payload.multi.children.aarch64.mediaType,
      arch: 'aarch64',
      platforms: ['linux/amd64', 'linux/arm64'],
    });
    for (const tag of INDEX_TAGS) {
      const expected = payload.components.find((x) => x.tag === tag)?.archSizes?.aarch64;
      expect(data.components.find((x) => x.tag === tag)).toMatchObject(expected ?? {});
    }
    // The index plus the aarch64 child read; the boot images have x86_64 disks only.
    const child = payload.multi.children.aarch64;
    expect(data.size).toBe(payload.multi.manifestSize + pushedSize(child));
    expect(data.layers).toEqual(child.layers);
    expect(data.kubevirtSizes).toEqual({});
    // Index + child, layer, components (+ their arm64 children).
    expect(counts(c.stats())).toMatchObject({ manifest: 2 + 185 + 3, blob: 1 });

    // No --arch: the x86_64 child, and the disks of every architecture of the boot images.
    const defaulted = await readRelease(client(), payload.multi.pullspec, { withSizes: true });
    expect(defaulted.image.digest).toBe(payload.multi.children.x86_64.digest);
    expect(defaulted.size).toBe(
      payload.multi.manifestSize + pushedSize(payload.multi.children.x86_64),
    );
    expect(Object.keys(defaulted.kubevirtSizes ?? {}).sort()).toEqual(
      Object.values(payload.kubevirt)
        .map((k) => k.digestRef)
        .sort(),
    );

    const error = await readRelease(client(), payload.multi.pullspec, {
      withSizes: false,
      arch: 's390x',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('PLATFORM_NOT_FOUND');
    expect((error as Error).message).toContain('linux/amd64, linux/arm64');
  });

  it('reads earlier layers only for files the last one lacks', async () => {
    const data = await readRelease(client(), payload.split.pullspec, { withSizes: false });
    expect(data.scan.layersRead).toBe(2);
    expect(data.bootImages?.metadata?.name).toBe('coreos-bootimages');
    expect(data.components).toHaveLength(185);
  });

  it('takes the architecture from the image config for a digest-only pullspec', async () => {
    const c = client();
    const byDigest = `${registry.host}/openshift-release-dev/ocp-release@${payload.release.digest}`;
    const data = await readRelease(c, byDigest, { withSizes: false });
    expect(data.arch).toBe('x86_64');
    expect(data.version).toBe(VERSION);
    expect(counts(c.stats())).toEqual({ ping: 1, manifest: 1, blob: 2, total: 4 });
  });

  it('refuses an image that is not a release payload', async () => {
    const c = client();
    const repo = `${registry.host}/example/app`;
    await pushImage(
      c,
      repo,
      'v1',
      buildImage({ format: 'oci', layers: [gzip(tar([{ path: 'etc/motd', contents: 'hi' }]))] }),
    );
    const error = await readRelease(c, `${repo}:v1`, { withSizes: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReleaseError);
    expect((error as Error).message).toMatch(
      /not a release payload: no release-manifests\/image-references/,
    );
  });
});
