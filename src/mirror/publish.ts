// A plan directory as an OCI artifact, laid out the way ORAS lays out `oras push` of files for
// registries without OCI 1.1 support (`--image-spec v1.0`, as Debian's distribution 2.8):
//
//   manifest  application/vnd.oci.image.manifest.v1+json, no artifactType field
//   config    media type = the artifact type (application/vnd.streamguard.mirror-plan.v1+json),
//             content `{}` (2 bytes, the OCI empty descriptor's content)
//   layers    one per file, in file name order, media type application/vnd.oci.image.layer.v1.tar
//             (ORAS's default for files), annotation org.opencontainers.image.title = file name
//
// so `oras pull` writes the files back under their names, and `oras manifest fetch` / `skopeo
// inspect --raw` show what is in it. Unlike ORAS, no `org.opencontainers.image.created`
// annotation is added: the same plan always gives the same manifest, hence the same digest, and
// publishing it again uploads nothing (every blob is already there) and moves no tag.
//
// pullPlan reads such an artifact back (also one pushed by ORAS with OCI 1.1 packing, where the
// type is in `artifactType`): titles must be plain file names (no path, no traversal), each blob is
// digest-verified, and the directory appears whole or not at all (writePlanDir).

import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RegistryClient } from '../registry/client.js';
import { digestOf } from '../registry/digest.js';
import { OCI_LAYER_TAR, OCI_MANIFEST, type ImageManifest } from '../registry/manifest.js';
import { parseReference, type ImageReference } from '../registry/reference.js';
import { RegistryError } from '../registry/errors.js';
import { PlanError } from './errors.js';
import { compareText } from './ref.js';
import type { PlanFiles } from './types.js';
import { writePlanDir, type WritePlanResult } from './write.js';

/** The plan's artifact type, carried as the config media type. */
export const PLAN_ARTIFACT_TYPE = 'application/vnd.streamguard.mirror-plan.v1+json';
/** Media type of each file (ORAS's default for files pushed without a type). */
export const PLAN_FILE_MEDIA_TYPE = OCI_LAYER_TAR;
export const TITLE_ANNOTATION = 'org.opencontainers.image.title';
/** The config blob: an empty JSON object, as ORAS pushes for an artifact without a config. */
export const EMPTY_CONFIG = Buffer.from('{}');

const OCI_SCHEME = 'oci://';
/** Largest plan file accepted when pulling (a 10 000-image plan's images.json is a few MiB). */
const MAX_FILE_BYTES = 64 * 1024 * 1024;
const MAX_FILES = 1000;

export interface PublishedFile {
  name: string;
  digest: string;
  size: number;
  /** True when the registry already had the blob (nothing uploaded). */
  existed: boolean;
}

export interface PublishResult {
  /** The manifest digest (`sha256:…`). */
  digest: string;
  /** `registry/repository:tag@digest`. */
  reference: string;
  mediaType: typeof OCI_MANIFEST;
  manifest: Buffer;
  files: PublishedFile[];
}

export interface PullResult {
  digest: string;
  /** The written directory (absolute). */
  path: string;
  /** File names written, sorted. */
  files: string[];
  replaced: boolean;
}

/**
 * Parses `oci://REGISTRY/REPOSITORY:TAG` (the `oci://` prefix is optional). The registry must be
 * named (there is no default registry for a plan), and a tag is required unless `allowDigest`
 * (then `@sha256:…` may stand in for it, for pulling).
 */
export function parseOciTarget(
  input: string,
  opts: { allowDigest?: boolean } = {},
): ImageReference {
  const text = input.startsWith(OCI_SCHEME) ? input.slice(OCI_SCHEME.length) : input;
  const first = text.split('/', 1)[0] ?? '';
  if (
    !text.includes('/') ||
    !(first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('['))
  ) {
    throw new PlanError(
      `${JSON.stringify(input)}: name the registry, as oci://REGISTRY/REPOSITORY:TAG`,
    );
  }
  let ref: ImageReference;
  try {
    ref = parseReference(text);
  } catch (err) {
    throw new PlanError(err instanceof Error ? err.message : String(err));
  }
  if (opts.allowDigest) {
    if (ref.tag === undefined && ref.digest === undefined) {
      throw new PlanError(`${JSON.stringify(input)}: give a :TAG or an @DIGEST`);
    }
  } else if (ref.tag === undefined || ref.digest !== undefined) {
    throw new PlanError(`${JSON.stringify(input)}: give a :TAG (and no digest) to publish to`);
  }
  return ref;
}

/** A plain file name: no directory part, no `.`/`..`, no control characters. */
export function isPlainFileName(name: string): boolean {
  return (
    name.length > 0 &&
    Buffer.byteLength(name) <= 255 &&
    name !== '.' &&
    name !== '..' &&
    !/[/\\]/.test(name) &&
    // eslint-disable-next-line no-control-regex
    !/[\u0000-\u001f\u007f]/.test(name)
  );
}

/**
 * The regular files of a plan directory, by name (dotfiles and subdirectories are not part of a
 * plan; a symbolic link is refused rather than followed out of the directory).
 */
export async function readPlanDir(planDir: string): Promise<Map<string, Buffer>> {
  let names: string[];
  try {
    names = await readdir(planDir);
  } catch (err) {
    throw new PlanError(`cannot read plan directory ${planDir}: ${(err as Error).message}`);
  }
  const files = new Map<string, Buffer>();
  for (const name of names.sort(compareText)) {
    if (name.startsWith('.')) continue;
    const path = join(planDir, name);
    const info = await lstat(path);
    if (info.isDirectory()) continue;
    if (!info.isFile()) throw new PlanError(`${path} is not a regular file`);
    files.set(name, await readFile(path));
  }
  return files;
}

/** The artifact manifest for `files` (sorted by name), and the blobs it references. */
export function planArtifact(files: ReadonlyMap<string, Buffer | string>): {
  manifest: Buffer;
  blobs: { name: string; bytes: Buffer }[];
} {
  if (files.size === 0) throw new PlanError('the plan has no files to publish');
  const blobs = [...files.entries()]
    .map(([name, content]) => {
      if (!isPlainFileName(name)) {
        throw new PlanError(`plan file name ${JSON.stringify(name)} is not a plain name`);
      }
      return { name, bytes: typeof content === 'string' ? Buffer.from(content, 'utf8') : content };
    })
    .sort((a, b) => compareText(a.name, b.name));
  // Key order as ORAS (Go's ocispec structs) writes them.
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: {
      mediaType: PLAN_ARTIFACT_TYPE,
      digest: digestOf(EMPTY_CONFIG),
      size: EMPTY_CONFIG.length,
    },
    layers: blobs.map((b) => ({
      mediaType: PLAN_FILE_MEDIA_TYPE,
      digest: digestOf(b.bytes),
      size: b.bytes.length,
      annotations: { [TITLE_ANNOTATION]: b.name },
    })),
  };
  return { manifest: Buffer.from(JSON.stringify(manifest)), blobs };
}

/**
 * Pushes a plan (a directory written by writePlanDir, or the files of buildPlan) to `target`
 * (`oci://REGISTRY/REPOSITORY:TAG` or its parsed form) and returns the manifest digest.
 */
export async function publishPlan(
  client: RegistryClient,
  plan: string | ReadonlyMap<string, Buffer | string>,
  target: string | ImageReference,
): Promise<PublishResult> {
  const ref = typeof target === 'string' ? parseOciTarget(target) : target;
  if (ref.tag === undefined) throw new PlanError('publishing a plan needs a tag to push to');
  const files = typeof plan === 'string' ? await readPlanDir(plan) : plan;
  const { manifest, blobs } = planArtifact(files);
  const repo: ImageReference = { registry: ref.registry, repository: ref.repository };
  await client.authorizeRepositories(ref.registry, [ref.repository], true);
  const [, ...pushed] = await settleAll([
    client.pushBlob(repo, EMPTY_CONFIG),
    ...blobs.map((b) => client.pushBlob(repo, b.bytes)),
  ]);
  const digest = await client.pushManifest(repo, ref.tag, OCI_MANIFEST, manifest);
  return {
    digest,
    reference: `${ref.registry}/${ref.repository}:${ref.tag}@${digest}`,
    mediaType: OCI_MANIFEST,
    manifest,
    files: blobs.map((b, i) => ({
      name: b.name,
      digest: pushed[i]?.digest ?? digestOf(b.bytes),
      size: b.bytes.length,
      existed: pushed[i]?.existed ?? false,
    })),
  };
}

/**
 * Reads a published plan back into `intoDir` (which must not exist unless `force`). Every file is
 * checked against its digest; titles that are not plain file names are refused before anything
 * is downloaded.
 */
export async function pullPlan(
  client: RegistryClient,
  ref: string | ImageReference,
  intoDir: string,
  options: { force?: boolean } = {},
): Promise<PullResult> {
  const image = typeof ref === 'string' ? parseOciTarget(ref, { allowDigest: true }) : ref;
  const fetched = await client.getManifest(image);
  const where = `${image.registry}/${image.repository}@${fetched.digest}`;
  if (fetched.mediaType !== OCI_MANIFEST) {
    throw new PlanError(`${where} is a ${fetched.mediaType}, not a published plan`);
  }
  const manifest = fetched.json as ImageManifest;
  const type = manifest.artifactType ?? manifest.config.mediaType;
  if (type !== PLAN_ARTIFACT_TYPE) {
    throw new PlanError(
      `${where} is not a streamguard mirror plan (artifact type ${type}, expected ${PLAN_ARTIFACT_TYPE})`,
    );
  }
  if (manifest.layers.length === 0) throw new PlanError(`${where} has no files`);
  if (manifest.layers.length > MAX_FILES) {
    throw new PlanError(`${where} has ${manifest.layers.length} files (at most ${MAX_FILES})`);
  }
  const seen = new Set<string>();
  for (const layer of manifest.layers) {
    const title = layer.annotations?.[TITLE_ANNOTATION];
    if (title === undefined) {
      throw new PlanError(`${where}: layer ${layer.digest} has no ${TITLE_ANNOTATION} annotation`);
    }
    if (!isPlainFileName(title)) {
      throw new PlanError(
        `${where}: refusing file title ${JSON.stringify(title.slice(0, 200))} (not a plain file name)`,
      );
    }
    if (seen.has(title)) throw new PlanError(`${where}: file ${title} appears twice`);
    seen.add(title);
    if (!Number.isSafeInteger(layer.size) || layer.size < 0 || layer.size > MAX_FILE_BYTES) {
      throw new PlanError(`${where}: file ${title} has an unacceptable size ${layer.size}`);
    }
  }

  const repo: ImageReference = { registry: image.registry, repository: image.repository };
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const files: PlanFiles = new Map();
  const contents = await settleAll(
    manifest.layers.map((layer) => client.fetchBlob(repo, layer.digest)),
  );
  manifest.layers.forEach((layer, i) => {
    const title = layer.annotations?.[TITLE_ANNOTATION] ?? '';
    const bytes = contents[i] ?? Buffer.alloc(0);
    if (bytes.length !== layer.size) {
      throw new RegistryError(
        `file ${title}: ${bytes.length} bytes, the manifest says ${layer.size}`,
        {
          registry: image.registry,
          repository: image.repository,
          reference: layer.digest,
          code: 'DIGEST_MISMATCH',
        },
      );
    }
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      throw new PlanError(`${where}: file ${title} is not UTF-8 text (plan files are text)`);
    }
    files.set(title, text);
  });
  const written: WritePlanResult = await writePlanDir(intoDir, files, { force: options.force });
  return {
    digest: fetched.digest,
    path: written.path,
    files: [...files.keys()].sort(compareText),
    replaced: written.replaced,
  };
}

/** Like Promise.all, but waits for every promise to settle first, so nothing is left running. */
async function settleAll<T>(promises: Promise<T>[]): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
}
