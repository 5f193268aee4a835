// Fuzzes registry responses: a release image built from real upstream payload files (4.12.0's
// image-references and release-metadata, HyperShift's dual-stream 5.0 coreos-bootimages), served by
// a scripted loopback registry with its manifest, index, config or last layer mutated — JSON
// mutations, damaged tar or gzip bytes, mutated payload files re-packed with honest digests (so
// the parsers behind digest checks are reached), wrong digests, media types and statuses. The
// real RegistryClient and readRelease must return a release or fail with a RegistryError or a
// ReleaseError naming where, within a time bound.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse } from 'yaml';
import { parseBootImagesConfigMap } from '../../src/catalog/bootimages-configmap.js';
import { CatalogError } from '../../src/catalog/errors.js';
import { PlanError } from '../../src/mirror/errors.js';
import { readRelease } from '../../src/mirror/release-reader.js';
import { RegistryClient, RegistryError } from '../../src/registry/index.js';
import { OCI_INDEX } from '../../src/registry/manifest.js';
import { upstreamText } from '../kube-api/fixtures.js';
import {
  buildImage,
  buildIndex,
  gzip,
  sha256,
  tar,
  type TarFile,
} from '../registry-support/images.js';
import { ScriptedRegistry } from './support/fake-registry.js';
import {
  byteMutationArb,
  mutate,
  mutateBytes,
  mutationArb,
  serialize,
  type ByteMutation,
  type Json,
  type Mutation,
} from './support/mutate.js';
import { Outcomes, runProperty, type FuzzReport, type FuzzRun } from './support/run.js';
import { loadsOrFailsTyped } from './support/typed-error.js';

const REPO = 'openshift-release-dev/ocp-release';
const FILES = {
  refs: 'release-manifests/image-references',
  meta: 'release-manifests/release-metadata',
  boot: 'release-manifests/0000_50_installer_coreos-bootimages.yaml',
} as const;
type FileKey = keyof typeof FILES;

function payloadDocs(): Record<FileKey, Json> {
  const meta = JSON.parse(upstreamText('oc-mirror/release-4.12.0-release-metadata.json')) as {
    version: string;
  };
  return {
    refs: JSON.parse(upstreamText('oc-mirror/release-4.12.0-image-references.json')) as Json,
    meta: { ...meta, version: '5.0.0-ec.2' } as Json,
    boot: parse(upstreamText('hypershift-fixture-5.0-coreos-bootimages-configmap.yaml')) as Json,
  };
}

type Part = 'manifest' | 'index' | 'config' | 'layer-file' | 'layer-tar' | 'layer-gzip' | 'status';

interface Case {
  part: Part;
  file: FileKey;
  mutations: Mutation[];
  damage: ByteMutation;
  /** Whether digests are recomputed after the mutation (true reaches the parsers). */
  honest: boolean;
  tagged: boolean;
  status: number;
  contentType: string | null;
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  part: fc.constantFrom<Part>(
    'manifest',
    'index',
    'config',
    'layer-file',
    'layer-file',
    'layer-file',
    'layer-tar',
    'layer-gzip',
    'status',
  ),
  file: fc.constantFrom<FileKey>('refs', 'meta', 'boot'),
  mutations: fc.array(mutationArb(50_000, 3_000), { minLength: 1, maxLength: 3 }),
  damage: byteMutationArb,
  honest: fc.oneof(
    { weight: 4, arbitrary: fc.constant(true) },
    { weight: 1, arbitrary: fc.constant(false) },
  ),
  // A tag without an architecture suffix makes readRelease read the image config.
  tagged: fc.boolean(),
  status: fc.constantFrom(200, 201, 204, 301, 400, 401, 403, 404, 416, 429, 500, 503),
  contentType: fc.oneof(
    { weight: 6, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.constantFrom('text/html', 'application/json', OCI_INDEX, '') },
  ),
});

function layerOf(docs: Record<FileKey, Json>, c: Case | undefined): Buffer {
  const files: TarFile[] = (Object.keys(FILES) as FileKey[]).map((key) => ({
    path: FILES[key],
    contents: serialize(
      c?.part === 'layer-file' && key === c.file ? mutate(docs[key], c.mutations) : docs[key],
    ),
  }));
  let archive = tar([{ path: 'release-manifests/', contents: '', type: '5' }, ...files]);
  if (c?.part === 'layer-tar') archive = mutateBytes(archive, c.damage);
  const layer = gzip(archive);
  return c?.part === 'layer-gzip' ? mutateBytes(layer, c.damage) : layer;
}

interface ManifestJson {
  config: { digest: string; size: number };
  layers: { digest: string; size: number }[];
}

/**
 * Builds the scripted answers for one case: a release image with one part broken. The manifest
 * names the pristine blobs; an honest case re-points it at the broken ones (so the bytes pass the
 * digest checks and reach the parsers), a dishonest one serves the broken bytes under the
 * pristine digests.
 */
function script(
  c: Case,
  docs: Record<FileKey, Json>,
  registry: ScriptedRegistry,
  tag: string,
): void {
  const pristine = buildImage({ format: 'oci', layers: [layerOf(docs, undefined)] });
  const layer = layerOf(docs, c);
  let config = pristine.config;
  if (c.part === 'config')
    config = Buffer.from(serialize(mutate(JSON.parse(config.toString()) as Json, c.mutations)));
  const json = JSON.parse(pristine.manifest.toString()) as ManifestJson;
  const named = { config: json.config.digest, layer: json.layers[0]?.digest ?? '' };
  if (c.honest) {
    json.config = { ...json.config, digest: sha256(config), size: config.length };
    json.layers = [
      {
        ...(json.layers[0] as ManifestJson['layers'][0]),
        digest: sha256(layer),
        size: layer.length,
      },
    ];
    named.config = sha256(config);
    named.layer = sha256(layer);
  }
  let manifest = Buffer.from(JSON.stringify(json));
  if (c.part === 'manifest')
    manifest = Buffer.from(serialize(mutate(json as unknown as Json, c.mutations)));
  const digest = sha256(manifest);

  const answer = (body: Buffer, type: string, d = sha256(body)) => ({
    status: 200,
    headers: {
      'Content-Type': c.contentType ?? type,
      ...(c.honest ? { 'Docker-Content-Digest': d } : {}),
    },
    body,
  });
  let top = answer(manifest, pristine.mediaType, digest);
  if (c.part === 'index') {
    const child = { ...pristine, manifest, digest };
    const index = buildIndex('oci', [
      { image: child, platform: { os: 'linux', architecture: 'amd64' } },
    ]);
    const mutated = serialize(mutate(JSON.parse(index.bytes.toString()) as Json, c.mutations));
    top = answer(Buffer.from(mutated), index.mediaType);
  }
  if (c.part === 'status') top = { ...top, status: c.status };
  registry.answers.clear();
  registry.answers.set(`/v2/${REPO}/manifests/${tag}`, top);
  registry.answers.set(
    `/v2/${REPO}/manifests/${digest}`,
    answer(manifest, pristine.mediaType, digest),
  );
  const blob = (body: Buffer) => ({
    status: 200,
    headers: { 'Content-Type': 'application/octet-stream' },
    body,
  });
  registry.answers.set(`/v2/${REPO}/blobs/${named.layer}`, blob(layer));
  registry.answers.set(`/v2/${REPO}/blobs/${named.config}`, blob(config));
}

/** A case that takes longer than this is a hang: the client's own timeouts are far below it. */
const CASE_LIMIT_MS = 20_000;

export async function fuzzRegistry(run: FuzzRun): Promise<FuzzReport> {
  const docs = payloadDocs();
  const registry = new ScriptedRegistry();
  await registry.start();
  const client = new RegistryClient({
    insecureRegistries: [registry.host],
    retry: { attempts: 2, baseMs: 1, capMs: 5, maxRetryAfterMs: 10 },
    timeouts: { connectMs: 2_000, headersMs: 5_000, bodyMs: 5_000 },
    // No auth file of this machine is read.
    authEnv: { env: {}, home: '/nonexistent' },
  });
  const outcomes = new Outcomes();
  const property = fc.asyncProperty(caseArb, async (c) => {
    const tag = c.tagged ? '5.0.0-ec.2-x86_64' : '5.0.0-ec.2';
    script(c, docs, registry, tag);
    const pullspec = `${registry.host}/${REPO}:${tag}`;
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${CASE_LIMIT_MS} ms`)),
        CASE_LIMIT_MS,
      );
    });
    try {
      const read = await Promise.race([
        loadsOrFailsTyped(
          outcomes,
          () => readRelease(client, pullspec, { withSizes: false }),
          [RegistryError, PlanError],
          (e) => e.message.includes(registry.host) || e.message.includes(REPO),
        ),
        hang,
      ]);
      const boot = (read as { bootImages?: unknown } | undefined)?.bootImages;
      if (boot !== undefined) {
        // What the release's consumers do next: parse the boot images, a CatalogError at worst.
        try {
          parseBootImagesConfigMap(boot as never, pullspec);
        } catch (err) {
          if (!(err instanceof CatalogError)) throw err;
          assert.ok(err.message.startsWith(pullspec));
        }
      }
    } finally {
      clearTimeout(timer);
    }
  });
  try {
    return await runProperty('registry', run, property, outcomes);
  } finally {
    await client.close();
    await registry.stop();
  }
}
