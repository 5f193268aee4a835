// Inputs and outputs of the mirror planner. The planner is pure: release data is fetched
// elsewhere (src/registry/), the plan is a map of file names to exact contents, and only
// write.ts touches the file system.

import type { BootImageCatalog } from '../catalog/types.js';
import type { ConfigMap } from '../k8s/objects.js';

/** One tag of a release payload's image-references, with what the registry told us about it. */
export interface ComponentImage {
  /** The image-references tag name (`tools`, `rhel-coreos-10`). */
  tag: string;
  /** `repo@sha256:…`, as image-references gives it. */
  source: string;
  /** The manifest digest (`sha256:…`); must be the digest of `source`. */
  digest: string;
  mediaType?: string;
  /** Manifest + config + layers, in bytes. */
  size?: number;
  layers?: { digest: string; size: number }[];
  /** `rhel-9`, `rhel-10`, …, when the tag is a node OS image or its extensions. */
  stream?: string;
}

/** What the registry told us about one image: media type, size (manifest + config + layers). */
export interface ImageSize {
  mediaType: string;
  /** Unknown for an index without a child of the wanted architecture. */
  size?: number;
  layers?: { digest: string; size: number }[];
}

export interface ReleaseData {
  /** The release pullspec as the user gave it (tag, digest, or both). */
  pullspec: string;
  /** The release image's manifest digest (`sha256:…`). */
  digest: string;
  mediaType: string;
  version: string;
  /** x86_64, aarch64, ppc64le, s390x or multi (amd64/arm64 accepted), from the tag or metadata. */
  arch: string;
  /** The payload's `release-manifests/image-references` ImageStream (JSON). */
  imageReferences: unknown;
  /** The payload's `release-manifests/release-metadata` (JSON). */
  releaseMetadata?: unknown;
  /** The payload's `coreos-bootimages` ConfigMap. */
  bootImages?: ConfigMap;
  /** One per image-references tag, sizes when known. */
  components: ComponentImage[];
  /**
   * The release image's size: manifest + config + layers (an index: the index plus the child
   * that was read), when known.
   */
  size?: number;
  layers?: { digest: string; size: number }[];
  /**
   * KubeVirt disks of the coreos-bootimages ConfigMap, by their `digest-ref` exactly as the
   * ConfigMap gives it, when known (an index: the index plus the child of the disk's arch).
   */
  kubevirtSizes?: Record<string, ImageSize>;
}

export type MirrorSourcePolicy = 'NeverContactSource' | 'AllowContactingSource';

export interface PlanOptions {
  /** `REGISTRY[/NS]` (a `docker://` prefix is accepted and dropped). */
  to: string;
  /** Streams to cover; default: every stream the payloads have. */
  streams?: string[];
  /**
   * Architectures (x86_64|amd64, aarch64|arm64, ppc64le, s390x). Default: each release's own
   * architecture, or every architecture of its boot images for a `multi` payload.
   */
  architectures?: string[];
  /** Also mirror the KubeVirt container disk of every selected stream. */
  kubevirt: boolean;
  /** oc-mirror's `--max-nested-paths`; 0 = off. */
  maxNestedPaths: number;
  mirrorSourcePolicy?: MirrorSourcePolicy;
}

/** File name → exact content. */
export type PlanFiles = Map<string, string>;

/** The stream of an image that every stream needs. */
export const SHARED = 'shared';

export type PlannedImageKind = 'release' | 'component' | 'kubevirt';

/** One image copy of the plan: where it comes from, where it goes, what it is. */
export interface PlannedImage {
  kind: PlannedImageKind;
  /** The release tag of the release the image belongs to (`4.12.0-x86_64`). */
  release: string;
  /** image-references tag, `release` for the payload, `kube-virt-container…` for disks. */
  tag: string;
  /** `shared` or the stream name. */
  stream: string;
  /** Source reference without transport (the origin, in oc-mirror's words). */
  source: string;
  /** Destination reference without transport: `<to>/openshift/release:<releaseTag>-<tag>`. */
  destination: string;
  digest: string;
  mediaType?: string;
  size?: number;
  layers?: { digest: string; size: number }[];
  /** Stream metadata architecture of a KubeVirt disk. */
  arch?: string;
}

/** A release as the plan sees it, after validation. */
export interface PlannedRelease {
  data: ReleaseData;
  /** Tag used in destination names: the pullspec's tag, else `<version>-<arch>`. */
  releaseTag: string;
  /** Normalised architecture (stream metadata name, or `multi`). */
  arch: string;
  /** The payload's boot images, when its coreos-bootimages ConfigMap is known. */
  catalog?: BootImageCatalog;
  /** Streams this payload offers (node images or boot images), sorted. */
  streams: string[];
  /** Architectures covered for boot artifacts and KubeVirt disks (stream metadata names). */
  architectures: string[];
  /** Notes for the summary (e.g. a selected stream without a KubeVirt disk). */
  notes: string[];
}

/** A payload component the plan leaves out (a node image of a stream not selected). */
export interface ExcludedImage {
  release: string;
  tag: string;
  stream: string;
  source: string;
  digest: string;
}

export interface ImagePlan {
  /** Destination as given, normalised (`registry[/ns]`). */
  to: string;
  maxNestedPaths: number;
  releases: PlannedRelease[];
  /** Every stream any payload offers, sorted. */
  offeredStreams: string[];
  /** Streams the plan covers, sorted. */
  streams: string[];
  /** Every planned image, sorted by destination. */
  images: PlannedImage[];
  /** Components left out by the stream selection, sorted by release and tag. */
  excluded: ExcludedImage[];
}

/** One image of a plan's images.json, as `renderImagesJson` writes it and `verifyPlan` reads it. */
export interface PlanImage {
  release: string;
  kind: string;
  tag: string;
  stream: string;
  arch: string | null;
  source: string;
  destination: string;
  digest: string;
  mediaType: string | null;
  size: number | null;
}
