// A plan published as an OCI artifact (ORAS's layout) into Debian's docker-registry on loopback,
// inspected with skopeo, and pulled back.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { PlanError, writePlanDir } from '../../src/mirror/index.js';
import {
  EMPTY_CONFIG,
  PLAN_ARTIFACT_TYPE,
  PLAN_FILE_MEDIA_TYPE,
  TITLE_ANNOTATION,
  parseOciTarget,
  publishPlan,
  pullPlan,
} from '../../src/mirror/publish.js';
import { RegistryClient } from '../../src/registry/client.js';
import { RegistryError } from '../../src/registry/errors.js';
import { OCI_MANIFEST, type ImageManifest } from '../../src/registry/manifest.js';
import { startFaultProxy } from '../registry-support/fault-proxy.js';
import { buildImage, gzip, pushImage, tar } from '../registry-support/images.js';
import {
  setupOrFailEach,
  startRegistry,
  type RunningRegistry,
} from '../registry-support/registry.js';
import { planFor, smallRelease } from './fixture.js';

const run = promisify(execFile);
const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
/** The OCI empty descriptor's digest (`{}`). */
const EMPTY_DIGEST = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

let registry: RunningRegistry;
let client: RegistryClient;
let work: string;
let planDir: string;
const files = planFor(smallRelease(), 'mirror.example.com:5000/ocp');

setupOrFailEach(async () => {
  registry = await startRegistry();
  client = new RegistryClient({ insecureRegistries: [registry.host] });
  work = await mkdtemp(join(tmpdir(), 'sg-mirror-publish-'));
  planDir = join(work, 'plan');
  await writePlanDir(planDir, files);
});

afterAll(async () => {
  await client?.close();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const names = () => [...files.keys()].sort();

async function skopeoRaw(ref: string, config = false): Promise<string> {
  const args = ['inspect', '--tls-verify=false', '--raw', ...(config ? ['--config'] : [])];
  const { stdout } = await run('skopeo', [...args, `docker://${ref}`]);
  return stdout;
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/** Pushes an artifact in the plan layout whose layers carry the given titles. */
async function pushArtifact(
  repo: string,
  tag: string,
  titles: string[],
  extra: Partial<ImageManifest> = {},
): Promise<void> {
  await client.pushBlob(repo, EMPTY_CONFIG);
  const layers = [];
  for (const title of titles) {
    const bytes = Buffer.from(`content of ${title}\n`);
    await client.pushBlob(repo, bytes);
    layers.push({
      mediaType: PLAN_FILE_MEDIA_TYPE,
      digest: sha256(bytes),
      size: bytes.length,
      annotations: { [TITLE_ANNOTATION]: title },
    });
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: PLAN_ARTIFACT_TYPE, digest: EMPTY_DIGEST, size: 2 },
    layers,
    ...extra,
  };
  await client.pushManifest(repo, tag, OCI_MANIFEST, Buffer.from(JSON.stringify(manifest)));
}

describe('publishPlan / pullPlan', () => {
  it('round-trips a plan directory byte for byte, by tag and by digest', async () => {
    const target = `oci://${registry.host}/streamguard/plan:5.0.0-ec.2`;
    const published = await publishPlan(client, planDir, parseOciTarget(target));
    expect(published.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(published.digest).toBe(sha256(published.manifest));
    expect(published.reference).toBe(
      `${registry.host}/streamguard/plan:5.0.0-ec.2@${published.digest}`,
    );
    expect(published.files.map((f) => f.name)).toEqual(names());

    for (const [ref, dir] of [
      [target, join(work, 'pulled-tag')],
      [`oci://${registry.host}/streamguard/plan@${published.digest}`, join(work, 'pulled-digest')],
    ] as const) {
      const pulled = await pullPlan(client, ref, dir);
      expect(pulled.digest).toBe(published.digest);
      expect(pulled.files).toEqual(names());
      expect((await readdir(dir)).sort()).toEqual(names());
      for (const name of names()) {
        const original = await readFile(join(planDir, name));
        expect((await readFile(join(dir, name))).equals(original), name).toBe(true);
      }
    }
    // The pulled directory is a plan like any other: it can be published and gives the same digest.
    const again = await publishPlan(client, join(work, 'pulled-tag'), target);
    expect(again.digest).toBe(published.digest);
  });

  it("is ORAS's layout as skopeo sees it: artifact type as config media type, {} config, one titled layer per file, no created annotation", async () => {
    const ref = `${registry.host}/streamguard/plan:layout`;
    const published = await publishPlan(client, planDir, `oci://${ref}`);
    const raw = await skopeoRaw(ref);
    expect(sha256(raw)).toBe(published.digest);
    const manifest = JSON.parse(raw) as ImageManifest;
    expect(manifest).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.streamguard.mirror-plan.v1+json',
        digest: EMPTY_DIGEST,
        size: 2,
      },
      layers: names().map((name) => ({
        mediaType: 'application/vnd.oci.image.layer.v1.tar',
        digest: sha256(files.get(name) ?? ''),
        size: Buffer.byteLength(files.get(name) ?? ''),
        annotations: { 'org.opencontainers.image.title': name },
      })),
    });
    expect(manifest.annotations).toBeUndefined();
    expect(await skopeoRaw(ref, true)).toBe('{}');
  });

  it('gives the same digest every time, from the directory or from the files in memory, and uploads nothing the second time', async () => {
    const target = `oci://${registry.host}/streamguard/plan:twice`;
    const first = await publishPlan(client, planDir, target);
    const before = client.stats();
    const second = await publishPlan(client, planDir, target);
    const after = client.stats();
    expect(second.digest).toBe(first.digest);
    expect(second.files.every((f) => f.existed)).toBe(true);
    // HEAD per blob (config + files) and the manifest PUT: no upload.
    expect(after.push - before.push).toBe(1 + files.size + 1);
    const fromMemory = await publishPlan(client, files, `oci://${registry.host}/other/plan:v1`);
    expect(fromMemory.digest).toBe(first.digest);
  });

  it('refuses titles that are not plain file names, before writing anything', async () => {
    const repo = `${registry.host}/streamguard/evil`;
    for (const [tag, title] of [
      ['dotdot', '../escape.txt'],
      ['nested', 'sub/file.txt'],
      ['absolute', '/tmp/abs.txt'],
      ['backslash', '..\\escape.txt'],
      ['dot', '..'],
    ] as const) {
      await pushArtifact(repo, tag, ['images.json', title]);
      const into = join(work, `evil-${tag}`, 'plan');
      const err = await rejection(pullPlan(client, `oci://${repo}:${tag}`, into));
      expect(err, title).toBeInstanceOf(PlanError);
      expect(err.message).toContain('not a plain file name');
      await expect(readdir(join(work, `evil-${tag}`))).rejects.toThrow(/ENOENT/);
    }
    await expect(readFile(join(work, 'escape.txt'))).rejects.toThrow(/ENOENT/);

    await pushArtifact(repo, 'twice', ['a.txt', 'a.txt']);
    const dup = await rejection(pullPlan(client, `oci://${repo}:twice`, join(work, 'dup')));
    expect(dup.message).toContain('appears twice');
  });

  it('refuses what is not a plan, and reads an OCI 1.1 artifact (artifactType, empty config) too', async () => {
    const repo = `${registry.host}/streamguard/other`;
    const image = buildImage({
      format: 'oci',
      layers: [gzip(tar([{ path: 'x', contents: 'x' }]))],
    });
    await pushImage(client, repo, 'image', image);
    const err = await rejection(pullPlan(client, `oci://${repo}:image`, join(work, 'image')));
    expect(err).toBeInstanceOf(PlanError);
    expect(err.message).toContain('is not a streamguard mirror plan');

    await pushArtifact(repo, 'v11', ['images.json'], {
      artifactType: PLAN_ARTIFACT_TYPE,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: EMPTY_DIGEST, size: 2 },
    });
    const pulled = await pullPlan(client, `oci://${repo}:v11`, join(work, 'v11'));
    expect(pulled.files).toEqual(['images.json']);
    expect(await readFile(join(work, 'v11', 'images.json'), 'utf8')).toBe(
      'content of images.json\n',
    );
  });

  it('checks every file against its digest (a corrupted blob leaves no directory behind)', async () => {
    const target = `${registry.host}/streamguard/plan:corrupt`;
    await publishPlan(client, planDir, `oci://${target}`);
    const proxy = await startFaultProxy(registry.port);
    const viaProxy = new RegistryClient({
      insecureRegistries: [proxy.host],
      retry: { attempts: 1 },
    });
    try {
      proxy.addRule({ method: 'GET', path: /\/blobs\/sha256:/, fault: { kind: 'corrupt' } });
      const into = join(work, 'corrupt');
      const err = await rejection(
        pullPlan(viaProxy, `oci://${proxy.host}/streamguard/plan:corrupt`, into),
      );
      expect(err).toBeInstanceOf(RegistryError);
      expect((err as RegistryError).code).toBe('DIGEST_MISMATCH');
      await expect(readdir(into)).rejects.toThrow(/ENOENT/);
    } finally {
      await viaProxy.close();
      await proxy.close();
    }
  });

  it('parses oci:// targets strictly', () => {
    expect(parseOciTarget('oci://127.0.0.1:5000/a/b:v1')).toEqual({
      registry: '127.0.0.1:5000',
      repository: 'a/b',
      tag: 'v1',
    });
    expect(parseOciTarget('quay.io/a/b:v1').registry).toBe('quay.io');
    expect(() => parseOciTarget('oci://a/b:v1')).toThrow(/name the registry/);
    expect(() => parseOciTarget('oci://plan:v1')).toThrow(/name the registry/);
    expect(() => parseOciTarget('oci://quay.io/a/b')).toThrow(/give a :TAG/);
    expect(() => parseOciTarget(`oci://quay.io/a/b@${EMPTY_DIGEST}`)).toThrow(/give a :TAG/);
    expect(parseOciTarget(`oci://quay.io/a/b@${EMPTY_DIGEST}`, { allowDigest: true }).digest).toBe(
      EMPTY_DIGEST,
    );
    expect(() => parseOciTarget('oci://quay.io/A/b:v1')).toThrow(PlanError);
  });
});
