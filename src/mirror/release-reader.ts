// Reads a release payload from a registry the way `oc adm release info` and HyperShift do: resolve
// the pullspec to a manifest (an index is resolved to one architecture's child), then stream the
// payload's LAST layer and stop as soon as `release-manifests/image-references`,
// `release-manifests/release-metadata` and the coreos-bootimages ConfigMap have been seen.
// Earlier layers are read only for files the later ones lack. With sizes, each component's
// manifest is fetched once (an index: plus the child of each wanted architecture), and so is each
// KubeVirt disk the coreos-bootimages ConfigMap names for those architectures (an index: plus the
// child of the disk's architecture); the release image's size comes from the manifests already
// read. The client's semaphore bounds how many run at once, its cache makes a rerun nearly free.

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ConfigMap } from '../k8s/objects.js';
import { isObject } from '../k8s/objects.js';
import { parseBootImagesConfigMap } from '../catalog/bootimages-configmap.js';
import { CatalogError } from '../catalog/errors.js';
import type { RegistryClient, Manifest } from '../registry/client.js';
import { digestOf, parseDigest } from '../registry/digest.js';
import { RegistryError } from '../registry/errors.js';
import {
  formatPlatform,
  isIndex,
  listPlatforms,
  selectPlatform,
  type ImageIndex,
  type ImageManifest,
} from '../registry/manifest.js';
import { parseReference, type ImageReference } from '../registry/reference.js';
import { parseManifests } from '../state/parse.js';
import { StateError } from '../state/errors.js';
import { MULTI, goArch, normalizeArch } from './arch.js';
import { PlanError } from './errors.js';
import { componentsFromImageReferences } from './images.js';
import { formatRef, parseRef } from './ref.js';
import type { ComponentImage, ImageSize, ReleaseData } from './types.js';

export const IMAGE_REFERENCES = 'release-manifests/image-references';
export const RELEASE_METADATA = 'release-manifests/release-metadata';
export const BOOTIMAGES = 'release-manifests/0000_50_installer_coreos-bootimages.yaml';
const WANTED = [IMAGE_REFERENCES, RELEASE_METADATA, BOOTIMAGES] as const;

/** The release image is not a usable payload (no image-references, unreadable files). */
export class ReleaseError extends PlanError {
  override readonly name: string = 'ReleaseError';
}

export interface ReleaseProgress {
  pullspec: string;
  /** Components whose manifest has been fetched (or came from the cache). */
  done: number;
  /** Components of the release. */
  total: number;
}

export interface ReadReleaseOptions {
  /**
   * Architecture(s) wanted (x86_64|amd64, aarch64|arm64, ppc64le, s390x). The first picks the
   * child of a multi-arch release index (default x86_64); all of them pick the children whose
   * sizes count for multi-arch components. Default: the release's own architecture.
   */
  arch?: string | readonly string[];
  /**
   * Fetch every component's and KubeVirt disk's manifest for sizes and layers (and size the
   * release image from its manifests).
   */
  withSizes: boolean;
  /**
   * Also size the KubeVirt disks (one manifest each) when `withSizes`: only plans that mirror
   * them need it, and a plan that does not should not fail on a disk it leaves out.
   */
  kubevirt?: boolean;
  /** Called after each component manifest when `withSizes`. */
  onProgress?: (progress: ReleaseProgress) => void;
  /**
   * Where to keep the payload files read from a release image (by its manifest digest), so that
   * rereading a release costs no layer download. Usually the client's cache directory.
   */
  cacheDir?: string;
}

export interface ReleaseRead extends ReleaseData {
  /** The image manifest the payload files came from (an index's child for a multi-arch release). */
  image: {
    digest: string;
    mediaType: string;
    /** Its architecture (stream metadata name). */
    arch: string;
    /** For an index: every platform it lists (`linux/amd64`, …). */
    platforms?: string[];
  };
  scan: {
    /** Layers of the release image, and how many were read (0 when the cache had the files). */
    layers: number;
    layersRead: number;
    /** Compressed size of the layers read, and the bytes actually downloaded from them. */
    layerBytes: number;
    bytesRead: number;
    fromCache: boolean;
  };
}

/**
 * Reads the release `pullspec` (tag, digest or both). Registry failures are RegistryErrors; a
 * pullspec or image that is not a usable release payload is a ReleaseError (a PlanError).
 */
export async function readRelease(
  client: RegistryClient,
  pullspec: string,
  options: ReadReleaseOptions,
): Promise<ReleaseRead> {
  // The planner's parser first: it wants `registry/path` and a tag or digest, as the plan does.
  const checked = parseRef(pullspec, 'release');
  const ref = parseReference(formatRef(checked));
  const wantedArchs = architectures(options.arch);

  const top = await client.getManifest(ref);
  let image: Manifest = top;
  let platforms: string[] | undefined;
  if (isIndex(top.json)) {
    platforms = listPlatforms(top.json);
    image = await indexChild(client, ref, top, top.json, wantedArchs[0] ?? 'x86_64');
  }
  const manifest = image.json as ImageManifest;

  const files = await payloadFiles(client, ref, image.digest, manifest, options.cacheDir);
  const imageReferences = parseJsonFile(files.files, IMAGE_REFERENCES, pullspec);
  if (imageReferences === undefined) {
    throw new ReleaseError(
      `${pullspec} is not a release payload: no ${IMAGE_REFERENCES} in any of its ${manifest.layers.length} layer(s)`,
    );
  }
  const releaseMetadata = parseJsonFile(files.files, RELEASE_METADATA, pullspec);
  const bootImages = parseBootImages(files.files, pullspec);

  let components: ComponentImage[];
  try {
    components = componentsFromImageReferences(imageReferences);
  } catch (error) {
    if (error instanceof PlanError) {
      throw new ReleaseError(`${pullspec}: ${IMAGE_REFERENCES}: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }

  const imageArch = isIndex(top.json)
    ? normalizeArch(wantedArchs[0] ?? 'x86_64')
    : await releaseArch(client, ref, manifest, releaseMetadata);
  const arch = isIndex(top.json) ? MULTI : imageArch;
  const version = releaseVersion(checked.tag, releaseMetadata, bootImages, pullspec);

  let sizes: Pick<ReleaseData, 'size' | 'layers' | 'kubevirtSizes'> = {};
  if (options.withSizes) {
    const sizeArchs = wantedArchs.length > 0 ? wantedArchs : [imageArch];
    // The disks of the architectures a plan covers: the wanted ones, else the release's own
    // (every one of the boot images for a multi-arch release).
    const disks =
      options.kubevirt === false
        ? new Map<string, string>()
        : kubevirtDisks(
            bootImages,
            pullspec,
            wantedArchs.length > 0 ? wantedArchs : arch === MULTI ? undefined : [imageArch],
          );
    const sized = await withSizes(
      client,
      pullspec,
      components,
      sizeArchs,
      disks,
      options.onProgress,
    );
    components = sized.components;
    // The release image: the manifest read (for an index, plus the index itself).
    const release = imageSize(image.bytes.length, manifest);
    sizes = {
      size: release.size + (image === top ? 0 : top.bytes.length),
      layers: release.layers,
      kubevirtSizes: sized.disks,
    };
  }

  const data: ReleaseRead = {
    pullspec,
    digest: top.digest,
    mediaType: top.mediaType,
    version,
    arch,
    imageReferences,
    components,
    ...sizes,
    image: {
      digest: image.digest,
      mediaType: image.mediaType,
      arch: imageArch,
      ...(platforms ? { platforms } : {}),
    },
    scan: files.scan,
  };
  if (releaseMetadata !== undefined) data.releaseMetadata = releaseMetadata;
  if (bootImages !== undefined) data.bootImages = bootImages;
  return data;
}

function architectures(arch: string | readonly string[] | undefined): string[] {
  const list = arch === undefined ? [] : typeof arch === 'string' ? [arch] : [...arch];
  const names = list.map((a) => normalizeArch(a, 'architecture')).filter((a) => a !== MULTI);
  return [...new Set(names)];
}

async function indexChild(
  client: RegistryClient,
  ref: ImageReference,
  top: Manifest,
  index: ImageIndex,
  arch: string,
): Promise<Manifest> {
  const platform = { os: 'linux', architecture: goArch(arch) };
  const child = selectPlatform(index, platform);
  if (!child) {
    const available = listPlatforms(index);
    throw new RegistryError(
      `the release index ${top.digest} has no ${formatPlatform(platform)} (${arch}) release image; available: ${available.length > 0 ? available.join(', ') : 'none'} (choose one with --arch)`,
      { registry: ref.registry, repository: ref.repository, code: 'PLATFORM_NOT_FOUND' },
    );
  }
  const image = await client.getManifest({
    registry: ref.registry,
    repository: ref.repository,
    digest: child.digest,
  });
  if (isIndex(image.json)) {
    throw new ReleaseError(`${formatPlatform(platform)} entry ${child.digest} is itself an index`);
  }
  return image;
}

interface PayloadFiles {
  files: Map<string, string>;
  scan: ReleaseRead['scan'];
}

async function payloadFiles(
  client: RegistryClient,
  ref: ImageReference,
  imageDigest: string,
  manifest: ImageManifest,
  cacheDir: string | undefined,
): Promise<PayloadFiles> {
  const cached = cacheDir === undefined ? undefined : await readCached(cacheDir, imageDigest);
  if (cached) {
    return {
      files: cached,
      scan: {
        layers: manifest.layers.length,
        layersRead: 0,
        layerBytes: 0,
        bytesRead: 0,
        fromCache: true,
      },
    };
  }
  const files = new Map<string, string>();
  const repo = { registry: ref.registry, repository: ref.repository };
  let layersRead = 0;
  let layerBytes = 0;
  let bytesRead = 0;
  // Last layer first: later layers win over earlier ones, and the payload's files are there.
  for (let i = manifest.layers.length - 1; i >= 0; i--) {
    const missing = WANTED.filter((path) => !files.has(path));
    if (missing.length === 0) break;
    const layer = manifest.layers[i];
    if (!layer) continue;
    const result = await client.scanLayer(
      repo,
      layer.digest,
      (path) => missing.includes(path as (typeof WANTED)[number]),
      (found) => missing.every((path) => found.has(path)),
    );
    layersRead++;
    layerBytes += layer.size;
    bytesRead += result.bytesRead;
    for (const [path, bytes] of result.files) files.set(path, decodeUtf8(bytes, path, ref));
  }
  if (cacheDir !== undefined && files.has(IMAGE_REFERENCES)) {
    await writeCached(cacheDir, imageDigest, files).catch(() => undefined);
  }
  return {
    files,
    scan: { layers: manifest.layers.length, layersRead, layerBytes, bytesRead, fromCache: false },
  };
}

function decodeUtf8(bytes: Buffer, path: string, ref: ImageReference): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ReleaseError(
      `${ref.registry}/${ref.repository}: ${path} in the release payload is not UTF-8 text`,
    );
  }
}

// The payload files of a release image, kept by the image's manifest digest (which pins its
// layers): `<cacheDir>/release-files/<algorithm>/<hex>.json`, with a checksum of the contents so a
// damaged entry is ignored (and read again from the registry).
interface CachedFiles {
  sum: string;
  files: Record<string, string>;
}

function cachePath(cacheDir: string, digest: string): string {
  const { algorithm, hex } = parseDigest(digest);
  return join(cacheDir, 'release-files', algorithm, `${hex}.json`);
}

function filesSum(files: Record<string, string>): string {
  return digestOf(Buffer.from(JSON.stringify(files)));
}

async function readCached(cacheDir: string, digest: string) {
  let entry: unknown;
  try {
    entry = JSON.parse(await readFile(cachePath(cacheDir, digest), 'utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(entry) || typeof entry.sum !== 'string' || !isObject(entry.files)) return undefined;
  const files: Record<string, string> = {};
  for (const [path, text] of Object.entries(entry.files)) {
    if (typeof text !== 'string') return undefined;
    files[path] = text;
  }
  if (filesSum(files) !== entry.sum || files[IMAGE_REFERENCES] === undefined) return undefined;
  return new Map(Object.entries(files));
}

async function writeCached(cacheDir: string, digest: string, files: Map<string, string>) {
  const path = cachePath(cacheDir, digest);
  const record: Record<string, string> = {};
  for (const [name, text] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    record[name] = text;
  }
  const entry: CachedFiles = { sum: filesSum(record), files: record };
  await mkdir(dirname(path), { recursive: true });
  // Same pattern as the content cache: exclusive temp file, then an atomic rename.
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    const handle = await open(tmp, 'wx', 0o644);
    try {
      await handle.writeFile(JSON.stringify(entry));
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
}

function parseJsonFile(files: Map<string, string>, path: string, pullspec: string): unknown {
  const text = files.get(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new ReleaseError(`${pullspec}: ${path} is not JSON: ${(error as Error).message}`);
  }
}

function parseBootImages(files: Map<string, string>, pullspec: string): ConfigMap | undefined {
  const text = files.get(BOOTIMAGES);
  if (text === undefined) return undefined;
  let objects;
  try {
    objects = parseManifests(text, `${pullspec}: ${BOOTIMAGES}`);
  } catch (error) {
    if (error instanceof StateError) throw new ReleaseError(error.message, { cause: error });
    throw error;
  }
  const cm = objects.find((o) => o.kind === 'ConfigMap');
  if (!cm) throw new ReleaseError(`${pullspec}: ${BOOTIMAGES} holds no ConfigMap`);
  return cm as ConfigMap;
}

const ARCH_SUFFIX = /-(x86_64|amd64|aarch64|arm64|ppc64le|s390x|multi)$/;

/** The architecture of a single-arch release image: its tag, its metadata, else its config. */
async function releaseArch(
  client: RegistryClient,
  ref: ImageReference,
  manifest: ImageManifest,
  metadata: unknown,
): Promise<string> {
  const fromTag = ref.tag === undefined ? undefined : ARCH_SUFFIX.exec(ref.tag)?.[1];
  if (fromTag !== undefined) return normalizeArch(fromTag);
  const inner = isObject(metadata) ? metadata.metadata : undefined;
  const declared = isObject(inner) ? inner['release.openshift.io/architecture'] : undefined;
  if (typeof declared === 'string') {
    try {
      return normalizeArch(declared);
    } catch {
      // Not a name we know: ask the image config.
    }
  }
  const config = await client.fetchBlob(
    { registry: ref.registry, repository: ref.repository },
    manifest.config.digest,
  );
  let architecture: unknown;
  try {
    architecture = (JSON.parse(config.toString('utf8')) as { architecture?: unknown }).architecture;
  } catch {
    architecture = undefined;
  }
  if (typeof architecture !== 'string') {
    throw new ReleaseError(
      `${ref.registry}/${ref.repository}: cannot tell the release's architecture (no arch in the tag, the metadata or the image config)`,
    );
  }
  try {
    return normalizeArch(architecture);
  } catch (error) {
    throw new ReleaseError(`${ref.registry}/${ref.repository}: ${(error as Error).message}`);
  }
}

/** release-metadata `version`, else the tag (without its architecture), else releaseVersion. */
function releaseVersion(
  tag: string | undefined,
  metadata: unknown,
  bootImages: ConfigMap | undefined,
  pullspec: string,
): string {
  const fromMetadata = isObject(metadata) ? metadata.version : undefined;
  if (typeof fromMetadata === 'string' && fromMetadata.trim() !== '') return fromMetadata.trim();
  if (tag !== undefined) return tag.replace(ARCH_SUFFIX, '');
  const fromBootImages = bootImages?.data?.releaseVersion;
  if (typeof fromBootImages === 'string' && fromBootImages.trim() !== '') {
    return fromBootImages.trim();
  }
  throw new ReleaseError(
    `${pullspec}: cannot tell the release version (no release-metadata version and no tag)`,
  );
}

/**
 * The KubeVirt disks of a coreos-bootimages ConfigMap, by `digest-ref`, with the architecture
 * whose child counts for an index; only those of `archs` (undefined: every architecture). A
 * ConfigMap or reference the planner would refuse is left to the planner to report.
 */
function kubevirtDisks(
  bootImages: ConfigMap | undefined,
  pullspec: string,
  archs: readonly string[] | undefined,
): Map<string, string> {
  const disks = new Map<string, string>();
  if (bootImages === undefined) return disks;
  let catalog;
  try {
    catalog = parseBootImagesConfigMap(bootImages, `coreos-bootimages of ${pullspec}`).catalog;
  } catch (error) {
    if (error instanceof CatalogError) return disks;
    throw error;
  }
  for (const name of catalog.streams) {
    for (const [arch, boot] of catalog.stream(name)?.architectures ?? []) {
      const digestRef = boot.kubevirt?.digestRef;
      if (digestRef === undefined || (archs !== undefined && !archs.includes(arch))) continue;
      if (!disks.has(digestRef)) disks.set(digestRef, arch);
    }
  }
  return disks;
}

/**
 * Every component's and disk's manifest, all requested at once (the client bounds the requests
 * in flight); the size is manifest + config + layers, and for an index the index plus each
 * wanted child. Waits for every request to settle before failing, so nothing is left running.
 * Progress counts the components only.
 */
async function withSizes(
  client: RegistryClient,
  pullspec: string,
  components: ComponentImage[],
  archs: readonly string[],
  disks: ReadonlyMap<string, string>,
  onProgress: ((progress: ReleaseProgress) => void) | undefined,
): Promise<{ components: ComponentImage[]; disks: Record<string, ImageSize> }> {
  const total = components.length;
  let done = 0;
  onProgress?.({ pullspec, done, total });
  const componentResults = Promise.allSettled(
    components.map(async (component): Promise<ComponentImage> => {
      const sized = await manifestSize(client, parseReference(component.source), archs);
      done++;
      onProgress?.({ pullspec, done, total });
      return { ...component, ...sized };
    }),
  );
  const diskResults = Promise.allSettled(
    [...disks].map(async ([digestRef, arch]) => {
      const ref = parseDiskReference(digestRef);
      return { digestRef, sized: ref && (await manifestSize(client, ref, [arch])) };
    }),
  );
  const [sizedComponents, sizedDisks] = [await componentResults, await diskResults];
  const failed = [...sizedComponents, ...sizedDisks].find(
    (r): r is PromiseRejectedResult => r.status === 'rejected',
  );
  if (failed) throw failed.reason;
  const result = {
    components: sizedComponents.map((r) => (r as PromiseFulfilledResult<ComponentImage>).value),
    disks: {} as Record<string, ImageSize>,
  };
  for (const r of sizedDisks) {
    const { digestRef, sized } = (r as PromiseFulfilledResult<DiskSize>).value;
    if (sized !== undefined) result.disks[digestRef] = sized;
  }
  return result;
}

interface DiskSize {
  digestRef: string;
  sized: ImageSize | undefined;
}

/** A disk's `digest-ref`, or undefined when it is not a reference by digest (planner's error). */
function parseDiskReference(digestRef: string): ImageReference | undefined {
  try {
    const ref = parseReference(digestRef);
    return ref.digest === undefined ? undefined : ref;
  } catch {
    return undefined;
  }
}

/**
 * One image's media type and size: manifest + config + layers, or for an index the index plus,
 * for each of `archs`, its child (layers shared by children once); no size when none matches.
 */
async function manifestSize(
  client: RegistryClient,
  ref: ImageReference,
  archs: readonly string[],
): Promise<ImageSize> {
  const manifest = await client.getManifest(ref);
  const sized: ImageSize = { mediaType: manifest.mediaType };
  if (!isIndex(manifest.json)) {
    return { ...sized, ...imageSize(manifest.bytes.length, manifest.json) };
  }
  // An index: the index itself plus, for each wanted architecture, its child.
  const index = manifest.json;
  const children = new Map<string, string>();
  for (const arch of archs) {
    const child = selectPlatform(index, { os: 'linux', architecture: goArch(arch) });
    if (child) children.set(child.digest, arch);
  }
  if (children.size === 0) return sized; // none of the wanted architectures: size unknown
  // Manifests and configs of each child, plus their layers once (children may share layers).
  let size = manifest.bytes.length;
  const layers = new Map<string, number>();
  for (const digest of children.keys()) {
    const child = await client.getManifest({
      registry: ref.registry,
      repository: ref.repository,
      digest,
    });
    if (isIndex(child.json)) return sized;
    size += child.bytes.length + child.json.config.size;
    for (const layer of child.json.layers) layers.set(layer.digest, layer.size);
  }
  for (const bytes of layers.values()) size += bytes;
  return {
    ...sized,
    size,
    layers: [...layers].map(([digest, bytes]) => ({ digest, size: bytes })),
  };
}

function imageSize(manifestBytes: number, manifest: ImageManifest) {
  const layers = manifest.layers.map((l) => ({ digest: l.digest, size: l.size }));
  const size = manifestBytes + manifest.config.size + layers.reduce((sum, l) => sum + l.size, 0);
  return { size, layers };
}
