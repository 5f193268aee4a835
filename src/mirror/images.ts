// The list of image copies a plan makes, named the way oc-mirror v2 names release content
// (internal/pkg/release/local_stored_collector.go):
//   release image        → <to>/openshift/release-images:<releaseTag>
//   image-references tag → <to>/openshift/release:<releaseTag>-<tag>
//   KubeVirt disk        → <to>/openshift/release:<releaseTag>-kube-virt-container[…]
// then flattened by --max-nested-paths as oc-mirror's image.WithMaxNestedPaths does. Node OS
// images and KubeVirt disks belong to a stream; everything else is shared by every stream.

import { parseBootImagesConfigMap } from '../catalog/bootimages-configmap.js';
import { compareStreamNames } from '../catalog/catalog.js';
import { CatalogError } from '../catalog/errors.js';
import { nodeImagesFromImageStream } from '../catalog/image-references.js';
import { RHEL9, type BootImageCatalog } from '../catalog/types.js';
import { isObject } from '../k8s/objects.js';
import { MULTI, compareArchs, normalizeArch } from './arch.js';
import { PlanError } from './errors.js';
import {
  checkMaxNestedPaths,
  compareText,
  destinationRef,
  formatRef,
  isDigest,
  parseRef,
  parseRepository,
  type ImageRef,
} from './ref.js';
import {
  SHARED,
  type ComponentImage,
  type ExcludedImage,
  type ImagePlan,
  type PlanOptions,
  type PlannedImage,
  type PlannedRelease,
  type ReleaseData,
} from './types.js';

/** Repository of release components under `--to` (oc-mirror's releaseComponentPathComponents). */
export const RELEASE_REPO = 'openshift/release';
/** Repository of release images under `--to` (oc-mirror's releaseImagePathComponents). */
export const RELEASE_IMAGES_REPO = 'openshift/release-images';

const TAG = /^[\w][\w.-]{0,127}$/;

/**
 * The node OS stream of an image-references tag, by the MCO's tag names (`rhel-coreos[-N]
 * [-extensions]`), read through the catalog's own parser so both agree; undefined for every
 * other tag.
 */
export function streamOfTag(tag: string, source: string): string | undefined {
  const streams = nodeImagesFromImageStream(
    { spec: { tags: [{ name: tag, from: { kind: 'DockerImage', name: source } }] } },
    `image-references tag "${tag}"`,
  );
  return streams.keys().next().value;
}

/**
 * Components (without sizes) from a payload's image-references ImageStream: one per tag, with
 * the digest of its `from.name` and the stream of node OS tags. For registry clients that fill
 * in sizes afterwards, and for tests.
 */
export function componentsFromImageReferences(imageStream: unknown): ComponentImage[] {
  const spec = isObject(imageStream) ? imageStream.spec : undefined;
  const tags = isObject(spec) ? spec.tags : undefined;
  if (!Array.isArray(tags)) throw new PlanError('image-references: spec.tags is not a list');
  return tags.map((entry: unknown, index) => {
    const name = isObject(entry) ? entry.name : undefined;
    const from = isObject(entry) ? entry.from : undefined;
    const source = isObject(from) ? from.name : undefined;
    if (typeof name !== 'string' || typeof source !== 'string') {
      throw new PlanError(`image-references: spec.tags[${index}] needs a name and from.name`);
    }
    const ref = parseRef(source, `image-references tag "${name}"`);
    if (ref.digest === undefined) {
      throw new PlanError(`image-references tag "${name}": "${source}" is not pinned by digest`);
    }
    const component: ComponentImage = { tag: name, source, digest: ref.digest };
    const stream = streamOfTag(name, source);
    if (stream !== undefined) component.stream = stream;
    return component;
  });
}

/**
 * The tag suffix of a KubeVirt disk. oc-mirror knows one disk per release: it reads only the
 * legacy `data.stream` key of coreos-bootimages (the rhel-9 stream, frozen upstream) and names
 * the disk `kube-virt-container` (`-<arch>` when it mirrors more than one architecture). The
 * rhel-9 disk keeps exactly that name, so a plan and an oc-mirror run with
 * `kubeVirtContainer: true` put it in the same place; every other stream's disk gets the stream
 * name appended (`kube-virt-container-rhel-10`), which cannot collide with oc-mirror's names
 * (its arch suffixes are x86_64/s390x) nor with an image-references tag (none starts with
 * `kube-virt-container`). The arch suffix comes last, as oc-mirror's does.
 */
export function kubevirtTagName(stream: string, arch: string, withArch: boolean): string {
  return `kube-virt-container${stream === RHEL9 ? '' : `-${stream}`}${withArch ? `-${arch}` : ''}`;
}

interface ReleaseContext {
  release: PlannedRelease;
  /** The release image reference to copy from. */
  source: ImageRef;
  components: ComponentImage[];
}

export function planImages(input: readonly ReleaseData[], options: PlanOptions): ImagePlan {
  const to = parseRepository(options.to);
  checkMaxNestedPaths(to, options.maxNestedPaths);
  if (input.length === 0) throw new PlanError('no release to plan');
  const archFilter = normalizeArchitectures(options.architectures);
  const contexts = dedupeReleases(input)
    .map((data) => releaseContext(data, archFilter))
    .sort(
      (a, b) =>
        compareText(a.release.releaseTag, b.release.releaseTag) ||
        compareText(a.release.data.digest, b.release.data.digest),
    );
  contexts.forEach((c, i) => {
    const previous = contexts[i - 1]?.release;
    if (previous?.releaseTag === c.release.releaseTag) {
      throw new PlanError(
        `releases "${previous.data.pullspec}" and "${c.release.data.pullspec}" are different ` +
          `payloads with the same release tag ${c.release.releaseTag}`,
      );
    }
  });

  const offered = new Set(contexts.flatMap((c) => c.release.streams));
  const offeredStreams = [...offered].sort(compareStreamNames);
  const streams = selectStreams(options.streams, offeredStreams);
  const selected = new Set(streams);

  const images: PlannedImage[] = [];
  const excluded: ExcludedImage[] = [];
  const max = options.maxNestedPaths;
  for (const { release, source, components } of contexts) {
    const releaseTag = release.releaseTag;
    const data = release.data;
    const releaseImage: PlannedImage = {
      kind: 'release',
      release: releaseTag,
      tag: 'release',
      stream: SHARED,
      source: formatRef(source),
      destination: formatRef(destinationRef(to, RELEASE_IMAGES_REPO, releaseTag, max)),
      digest: data.digest,
      mediaType: data.mediaType,
    };
    images.push(withSize(releaseImage, data));
    for (const component of components) {
      if (component.stream !== undefined && !selected.has(component.stream)) {
        excluded.push({
          release: releaseTag,
          tag: component.tag,
          stream: component.stream,
          source: component.source,
          digest: component.digest,
        });
        continue;
      }
      const image: PlannedImage = {
        kind: 'component',
        release: releaseTag,
        tag: component.tag,
        stream: component.stream ?? SHARED,
        source: formatRef(pullable(parseRef(component.source))),
        destination: formatRef(
          destinationRef(to, RELEASE_REPO, destinationTag(releaseTag, component.tag), max),
        ),
        digest: component.digest,
      };
      if (component.mediaType !== undefined) image.mediaType = component.mediaType;
      if (component.size !== undefined) image.size = component.size;
      if (component.layers !== undefined) image.layers = component.layers;
      images.push(image);
    }
    if (options.kubevirt) {
      images.push(
        ...kubevirtImages(release, streams, (tag) => destinationRef(to, RELEASE_REPO, tag, max)),
      );
    }
    for (const stream of streams) {
      if (!release.streams.includes(stream)) {
        release.notes.push(`${releaseTag} offers no ${stream} stream`);
      }
    }
  }
  return {
    to: to.name,
    maxNestedPaths: max,
    releases: contexts.map((c) => c.release),
    offeredStreams,
    streams,
    images: dedupeDestinations(images),
    excluded,
  };
}

function normalizeArchitectures(archs: readonly string[] | undefined): string[] | undefined {
  if (archs === undefined) return undefined;
  const names = new Set(archs.map((a) => normalizeArch(a, 'architecture')));
  names.delete(MULTI);
  return names.size === 0 ? undefined : [...names].sort(compareArchs);
}

/** The same payload given twice (by tag and by digest) is planned once; the tag form wins. */
function dedupeReleases(input: readonly ReleaseData[]): ReleaseData[] {
  const sorted = [...input].sort((a, b) => compareText(a.pullspec, b.pullspec));
  const byDigest = new Map<string, ReleaseData>();
  for (const data of sorted) if (!byDigest.has(data.digest)) byDigest.set(data.digest, data);
  return [...byDigest.values()];
}

function releaseContext(data: ReleaseData, archFilter: string[] | undefined): ReleaseContext {
  const what = `release "${data.pullspec}"`;
  const pullRef = parseRef(data.pullspec, what);
  if (!isDigest(data.digest)) throw new PlanError(`${what}: invalid digest "${data.digest}"`);
  if (pullRef.digest !== undefined && pullRef.digest !== data.digest) {
    throw new PlanError(`${what}: the pullspec's digest differs from the fetched ${data.digest}`);
  }
  const arch = normalizeArch(data.arch, `${what} architecture`);
  const releaseTag = pullRef.tag ?? `${data.version}-${arch}`;
  if (!TAG.test(releaseTag)) throw new PlanError(`${what}: "${releaseTag}" is not a valid tag`);

  const seen = new Set<string>();
  const components = data.components.map((component) => {
    const where = `${what} tag "${component.tag}"`;
    if (seen.has(component.tag)) throw new PlanError(`${where}: listed twice`);
    seen.add(component.tag);
    const ref = parseRef(component.source, where);
    if (ref.digest === undefined) {
      throw new PlanError(`${where}: "${component.source}" is not pinned by digest`);
    }
    if (ref.digest !== component.digest) {
      throw new PlanError(`${where}: digest ${component.digest} differs from its source's`);
    }
    const tag = destinationTag(releaseTag, component.tag);
    if (!TAG.test(tag)) throw new PlanError(`${where}: destination tag "${tag}" is not valid`);
    const stream = component.stream ?? streamOfTag(component.tag, component.source);
    return stream === undefined ? component : { ...component, stream };
  });
  components.sort((a, b) => compareText(a.tag, b.tag));
  checkAgainstImageReferences(data.imageReferences, seen, what);

  let catalog: BootImageCatalog | undefined;
  if (data.bootImages !== undefined) {
    try {
      catalog = parseBootImagesConfigMap(
        data.bootImages,
        `coreos-bootimages of ${data.pullspec}`,
      ).catalog;
    } catch (error) {
      if (error instanceof CatalogError) throw new PlanError(error.message, { cause: error });
      throw error;
    }
  }
  const streams = new Set<string>(catalog?.streams ?? []);
  for (const c of components) if (c.stream !== undefined) streams.add(c.stream);

  let architectures: string[];
  if (archFilter !== undefined) architectures = archFilter;
  else if (arch !== MULTI) architectures = [arch];
  else {
    const all = new Set<string>();
    for (const name of catalog?.streams ?? []) {
      for (const a of catalog?.stream(name)?.architectures.keys() ?? []) all.add(a);
    }
    architectures = [...all].sort(compareArchs);
  }

  return {
    release: {
      data,
      releaseTag,
      arch,
      catalog,
      streams: [...streams].sort(compareStreamNames),
      architectures,
      notes: [],
    },
    source: pullable(pullRef),
    components,
  };
}

/** Components must be one per image-references tag (when the ImageStream lists its tags). */
function checkAgainstImageReferences(imageStream: unknown, tags: Set<string>, what: string) {
  const spec = isObject(imageStream) ? imageStream.spec : undefined;
  const list = isObject(spec) ? spec.tags : undefined;
  if (!Array.isArray(list)) return;
  const names = new Set(list.map((t: unknown) => (isObject(t) ? t.name : undefined)));
  const missing = [...names].filter((n): n is string => typeof n === 'string' && !tags.has(n));
  const extra = [...tags].filter((t) => !names.has(t));
  if (missing.length > 0 || extra.length > 0) {
    throw new PlanError(
      `${what}: components do not match image-references` +
        (missing.length ? `; missing ${missing.sort(compareText).join(', ')}` : '') +
        (extra.length ? `; not in image-references: ${extra.sort(compareText).join(', ')}` : ''),
    );
  }
}

function selectStreams(requested: readonly string[] | undefined, offered: string[]): string[] {
  if (requested === undefined) return offered;
  if (requested.length === 0) throw new PlanError('no stream selected');
  const unknown = requested.filter((s) => !offered.includes(s));
  if (unknown.length > 0) {
    throw new PlanError(
      `stream ${unknown.map((s) => `"${s}"`).join(', ')} is in no release; ` +
        `the releases offer ${offered.length ? offered.join(', ') : 'no stream'}`,
    );
  }
  return [...new Set(requested)].sort(compareStreamNames);
}

/**
 * The reference to copy from: as given, except that a reference with both a tag and a digest
 * keeps only the digest (containers/image, which skopeo and oc-mirror use, cannot pull both;
 * oc-mirror pulls such images by digest too). Such a release image is then an origin by
 * digest, so it gets an IDMS entry and no ITMS entry.
 */
function pullable(ref: ImageRef): ImageRef {
  if (ref.tag === undefined || ref.digest === undefined) return ref;
  return { name: ref.name, domain: ref.domain, path: ref.path, digest: ref.digest };
}

function destinationTag(releaseTag: string, tag: string): string {
  return `${releaseTag}-${tag}`;
}

function kubevirtImages(
  release: PlannedRelease,
  streams: readonly string[],
  destination: (tag: string) => ImageRef,
): PlannedImage[] {
  const images: PlannedImage[] = [];
  const what = `release "${release.data.pullspec}"`;
  const catalog = release.catalog;
  if (!catalog) {
    release.notes.push(
      `${release.releaseTag}: no coreos-bootimages ConfigMap, so no KubeVirt disk is known`,
    );
    return images;
  }
  for (const stream of streams) {
    const boot = catalog.stream(stream);
    if (!boot) {
      if (release.streams.includes(stream)) {
        release.notes.push(`${release.releaseTag}: no ${stream} boot images, so no KubeVirt disk`);
      }
      continue;
    }
    const missing: string[] = [];
    for (const arch of release.architectures) {
      const kubevirt = boot.architectures.get(arch)?.kubevirt;
      if (!kubevirt?.digestRef) {
        missing.push(kubevirt?.image ? `${arch} (only a tag, no digest-ref)` : arch);
        continue;
      }
      const where = `${what} ${stream} ${arch} KubeVirt disk`;
      const ref = parseRef(kubevirt.digestRef, where);
      if (ref.digest === undefined) throw new PlanError(`${where}: digest-ref has no digest`);
      // One architecture of a single-arch payload is named exactly as oc-mirror names it.
      const withArch = release.arch === MULTI || arch !== release.arch;
      const tag = destinationTag(release.releaseTag, kubevirtTagName(stream, arch, withArch));
      const disk: PlannedImage = {
        kind: 'kubevirt',
        release: release.releaseTag,
        tag: kubevirtTagName(stream, arch, withArch),
        stream,
        source: formatRef(ref),
        destination: formatRef(destination(tag)),
        digest: ref.digest,
        arch,
      };
      images.push(withSize(disk, release.data.kubevirtSizes?.[kubevirt.digestRef]));
    }
    if (missing.length > 0) {
      release.notes.push(
        `${release.releaseTag}: no ${stream} KubeVirt disk to mirror for ${missing.join(', ')}`,
      );
    }
  }
  return images;
}

/** The image with the media type, size and layers the registry gave, when known. */
function withSize(
  image: PlannedImage,
  known: Pick<PlannedImage, 'mediaType' | 'size' | 'layers'> | undefined,
): PlannedImage {
  if (known?.mediaType !== undefined) image.mediaType = known.mediaType;
  if (known?.size !== undefined) image.size = known.size;
  if (known?.layers !== undefined) image.layers = known.layers;
  return image;
}

/** Sorted by destination; one copy per destination (a conflict is an input error). */
function dedupeDestinations(images: PlannedImage[]): PlannedImage[] {
  images.sort(
    (a, b) => compareText(a.destination, b.destination) || compareText(a.source, b.source),
  );
  const result: PlannedImage[] = [];
  for (const image of images) {
    const last = result[result.length - 1];
    if (last?.destination === image.destination) {
      if (last.digest !== image.digest) {
        throw new PlanError(
          `${image.destination} would receive both ${last.source} and ${image.source}`,
        );
      }
      continue;
    }
    result.push(image);
  }
  return result;
}
