import { execFile } from 'node:child_process';
import { rejection } from '../../test/registry-support/assert.js';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import {
  buildImage,
  buildIndex,
  gzip,
  incompressible,
  pushImage,
  releaseLayer,
  sha256,
  tar,
  type BuiltImage,
} from '../../test/registry-support/images.js';
import {
  setupOrFailEach,
  startRegistry,
  type RunningRegistry,
} from '../../test/registry-support/registry.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_INDEX,
  OCI_MANIFEST,
  type ImageManifest,
} from './manifest.js';

const run = promisify(execFile);

let registry: RunningRegistry;
let client: RegistryClient;
let repo: string;
const clients: RegistryClient[] = [];

function newClient(options: RegistryClientOptions = {}): RegistryClient {
  const c = new RegistryClient({ insecureRegistries: [registry.host], ...options });
  clients.push(c);
  return c;
}

const amd64 = { os: 'linux', architecture: 'amd64' };
const arm64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };
let ociImage: BuiltImage;
let dockerImage: BuiltImage;

setupOrFailEach(async () => {
  registry = await startRegistry();
  client = newClient();
  repo = `${registry.host}/streamguard/app`;
  ociImage = buildImage({
    format: 'oci',
    layers: [gzip(tar([{ path: 'etc/os-release', contents: 'ID=rhel\n' }]))],
  });
  dockerImage = buildImage({
    format: 'docker',
    layers: [gzip(tar([{ path: 'bin/tool', contents: 'x' }]))],
    platform: arm64,
  });
  await pushImage(client, repo, 'oci', ociImage);
  await pushImage(client, repo, 'docker', dockerImage);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await registry?.stop();
});

describe('push and pull against docker-registry', () => {
  it('round-trips an OCI manifest by tag and by digest, with its config blob', async () => {
    const byTag = await client.getManifest(`${repo}:oci`);
    expect(byTag).toMatchObject({ digest: ociImage.digest, mediaType: OCI_MANIFEST });
    expect(byTag.bytes.equals(ociImage.manifest)).toBe(true);
    const byDigest = await client.getManifest(`${repo}@${ociImage.digest}`);
    expect(byDigest.json).toEqual(byTag.json);
    const manifest = byTag.json as ImageManifest;
    const config = await client.fetchBlob(repo, manifest.config.digest);
    expect(config.equals(ociImage.config)).toBe(true);
  });

  it('round-trips a Docker v2 manifest', async () => {
    const got = await client.getManifest(`${repo}:docker`);
    expect(got).toMatchObject({ digest: dockerImage.digest, mediaType: DOCKER_MANIFEST });
  });

  it('skips blobs the repository already has', async () => {
    const again = await client.pushBlob(repo, ociImage.config);
    expect(again).toEqual({
      digest: sha256(ociImage.config),
      size: ociImage.config.length,
      existed: true,
    });
  });

  it('HEADs manifests: digest, type and size, undefined when missing', async () => {
    expect(await client.headManifest(`${repo}:oci`)).toEqual({
      digest: ociImage.digest,
      mediaType: OCI_MANIFEST,
      size: ociImage.manifest.length,
    });
    expect(await client.headManifest(`${repo}:no-such-tag`)).toBeUndefined();
    expect(await client.headManifest(`${registry.host}/no/such-repo:x`)).toBeUndefined();
  });

  it('names registry, repository, reference and registry code in errors', async () => {
    const err = await rejection(client.getManifest(`${repo}:missing`));
    expect(err).toMatchObject({
      registry: registry.host,
      repository: 'streamguard/app',
      reference: 'missing',
      status: 404,
      code: 'MANIFEST_UNKNOWN',
    });
    expect(err.message).toContain(`${repo}:missing`);
    const blob = await rejection(client.fetchBlob(repo, `sha256:${'0'.repeat(64)}`));
    expect(blob).toMatchObject({ status: 404, code: 'BLOB_UNKNOWN' });
  });

  it('refuses a digest reference whose manifest does not match (pushManifest checks too)', async () => {
    const wrong = `sha256:${'1'.repeat(64)}`;
    const err = await rejection(client.pushManifest(repo, wrong, OCI_MANIFEST, ociImage.manifest));
    expect(err.code).toBe('DIGEST_MISMATCH');
  });

  it('lists tags (distribution 2.8 ignores n=; Link paging is tested through the proxy)', async () => {
    const small = `${registry.host}/streamguard/tags`;
    const img = buildImage({ format: 'oci', layers: [gzip(tar([{ path: 't', contents: 't' }]))] });
    for (const tag of ['a', 'b', 'c', 'd', 'e']) await pushImage(client, small, tag, img);
    const before = client.stats().tags;
    expect((await client.listTags(small, { pageSize: 2 })).sort()).toEqual([
      'a',
      'b',
      'c',
      'd',
      'e',
    ]);
    expect(client.stats().tags - before).toBe(1);
  });
});

describe('indexes and manifest lists', () => {
  for (const format of ['oci', 'docker'] as const) {
    it(`resolves a ${format} ${format === 'oci' ? 'index' : 'manifest list'} per platform`, async () => {
      const a = buildImage({ format, layers: [gzip(tar([{ path: 'arch', contents: 'amd64' }]))] });
      const b = buildImage({
        format,
        layers: [gzip(tar([{ path: 'arch', contents: 'arm64' }]))],
        platform: arm64,
      });
      await pushImage(client, repo, undefined, a);
      await pushImage(client, repo, undefined, b);
      const index = buildIndex(format, [
        { image: a, platform: amd64 },
        { image: b, platform: arm64 },
      ]);
      await client.pushManifest(repo, `multi-${format}`, index.mediaType, index.bytes);

      const whole = await client.getManifest(`${repo}:multi-${format}`);
      expect(whole.mediaType).toBe(format === 'oci' ? OCI_INDEX : DOCKER_MANIFEST_LIST);
      expect(whole.digest).toBe(index.digest);
      const x86 = await client.getManifest(`${repo}:multi-${format}`, {
        platform: { os: 'linux', architecture: 'x86_64' },
      });
      expect(x86.digest).toBe(a.digest);
      const arm = await client.getManifest(`${repo}@${index.digest}`, {
        platform: { os: 'linux', architecture: 'arm64' },
      });
      expect(arm.digest).toBe(b.digest);
      const err = await rejection(
        client.getManifest(`${repo}:multi-${format}`, {
          platform: { os: 'linux', architecture: 's390x' },
        }),
      );
      expect(err.code).toBe('PLATFORM_NOT_FOUND');
      expect(err.message).toContain('linux/s390x');
      expect(err.message).toContain('available: linux/amd64, linux/arm64/v8');
    });
  }
});

describe('scanLayer', () => {
  it('stops downloading once the wanted files (first in the layer) are found', async () => {
    const filler = 24 * 1024 * 1024;
    const { layer, imageReferences, metadata } = releaseLayer(filler);
    const image = buildImage({ format: 'oci', layers: [layer] });
    await pushImage(client, `${registry.host}/release/payload`, '4.99.0', image);

    const want = new Set([
      'release-manifests/image-references',
      'release-manifests/release-metadata',
    ]);
    const scan = await client.scanLayer(
      `${registry.host}/release/payload`,
      sha256(layer),
      (path) => want.has(path),
      (found) => found.size === want.size,
    );
    expect(scan.files.get('release-manifests/image-references')?.toString()).toBe(imageReferences);
    expect(scan.files.get('release-manifests/release-metadata')?.toString()).toBe(metadata);
    expect(scan).toMatchObject({ complete: false, verified: false, compression: 'gzip' });
    expect(layer.length).toBeGreaterThan(filler);
    // A few hundred KiB of buffers at most, against 24 MiB.
    expect(scan.bytesRead).toBeLessThan(layer.length / 20);
  });

  it('reads a whole layer, verifies it, and reads plain tar too', async () => {
    const archive = tar([
      { path: './a', contents: 'A' },
      { path: 'b', contents: incompressible(100_000) },
    ]);
    for (const layer of [gzip(archive), archive]) {
      await client.pushBlob(repo, layer);
      const scan = await client.scanLayer(
        repo,
        sha256(layer),
        (p) => p === 'a',
        () => false,
      );
      expect(scan).toMatchObject({ complete: true, verified: true, bytesRead: layer.length });
      expect(scan.files.get('a')?.toString()).toBe('A');
    }
  });

  it('refuses a blob that is not a layer', async () => {
    const junk = Buffer.from('this is not a tar archive at all, just text '.repeat(40));
    await client.pushBlob(repo, junk);
    const err = await rejection(
      client.scanLayer(
        repo,
        sha256(junk),
        () => true,
        () => false,
      ),
    );
    expect(err.code).toBe('INVALID_LAYER');
  });
});

describe('single-flight and the shared cache', () => {
  it('N concurrent getManifest calls make one request', async () => {
    const c = newClient();
    await c.headManifest(`${repo}:oci`); // ping out of the way
    const before = c.stats().manifest;
    const results = await Promise.all(
      Array.from({ length: 10 }, () => c.getManifest(`${repo}:oci`)),
    );
    expect(c.stats().manifest - before).toBe(1);
    expect(new Set(results.map((r) => r.digest))).toEqual(new Set([ociImage.digest]));
    const blobs = await Promise.all(
      Array.from({ length: 10 }, () => c.fetchBlob(repo, sha256(ociImage.config))),
    );
    expect(c.stats().blob).toBe(1);
    expect(blobs.every((b) => b.equals(ociImage.config))).toBe(true);
  });

  it('two clients share one cacheDir; a later run needs no manifest or blob request', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'sg-cache-'));
    try {
      const refs = [ociImage, dockerImage].map((img) => `${repo}@${img.digest}`);
      const fetchAll = async (c: RegistryClient) => {
        const manifests = await Promise.all(refs.map((r) => c.getManifest(r)));
        const configs = await Promise.all(
          manifests.map((m) => c.fetchBlob(repo, (m.json as ImageManifest).config.digest)),
        );
        return {
          manifests: manifests.map((m) => m.bytes.toString('hex')),
          configs: configs.map((b) => b.toString('hex')),
        };
      };
      const [one, two] = [newClient({ cacheDir }), newClient({ cacheDir })];
      const [r1, r2] = await Promise.all([fetchAll(one), fetchAll(two)]);
      expect(r1).toEqual(r2);
      const files = (await readdir(join(cacheDir, 'sha256'))).filter((f) => !f.startsWith('.'));
      expect(files).toHaveLength(4);

      const later = newClient({ cacheDir });
      expect(await fetchAll(later)).toEqual(r1);
      expect(later.stats()).toMatchObject({ manifest: 0, blob: 0, total: 0 });

      // A corrupt entry is dropped and fetched again.
      await writeFile(join(cacheDir, 'sha256', ociImage.digest.slice(7)), '{"not":"it"}');
      const repair = newClient({ cacheDir });
      expect(await fetchAll(repair)).toEqual(r1);
      expect(repair.stats().manifest).toBe(1);
      const fresh = newClient({ cacheDir });
      await fetchAll(fresh);
      expect(fresh.stats().total).toBe(0);
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  it('never caches a tag: a moved tag is seen', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'sg-cache-'));
    try {
      const c = newClient({ cacheDir });
      await client.pushManifest(repo, 'moving', ociImage.mediaType, ociImage.manifest);
      expect((await c.getManifest(`${repo}:moving`)).digest).toBe(ociImage.digest);
      await client.pushManifest(repo, 'moving', dockerImage.mediaType, dockerImage.manifest);
      expect((await c.getManifest(`${repo}:moving`)).digest).toBe(dockerImage.digest);
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });
});

describe('interoperability', () => {
  it('skopeo inspect sees what the client pushed', async () => {
    const { stdout } = await run(
      'skopeo',
      ['inspect', '--tls-verify=false', '--no-creds', `docker://${repo}:oci`],
      { timeout: 30_000 },
    ).catch((err: unknown) => {
      if ((err as { code?: unknown }).code === 'ENOENT') {
        throw new Error(
          'skopeo not found: install it with `apt-get install -y skopeo` (CI does in .ci/run)',
        );
      }
      throw err;
    });
    const info = JSON.parse(stdout) as {
      Digest: string;
      Os: string;
      Architecture: string;
      Layers: string[];
    };
    expect(info.Digest).toBe(ociImage.digest);
    expect(info).toMatchObject({ Os: 'linux', Architecture: 'amd64' });
    expect(info.Layers).toEqual(ociImage.layers.map(sha256));
  });
});
