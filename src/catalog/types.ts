// What the engine knows about a release payload: its version, the boot images of each OS stream
// (from the payload's coreos-bootimages ConfigMap or the embedded catalog) and, when the
// payload's image-references are known, the node OS images of each stream.

export type StreamName = string;

export const RHEL9 = 'rhel-9';
export const RHEL10 = 'rhel-10';

/** A release version compared on major.minor only (`5.0.0-ec.2` is 5.0). */
export interface Version {
  major: number;
  minor: number;
  /** The text the version was read from, for messages. */
  raw: string;
}

export interface AwsRegionImage {
  release: string;
  image: string;
}

export interface PowerVSRegionImage {
  release: string;
  object: string;
  bucket: string;
  url: string;
}

export interface MarketplaceImage {
  publisher: string;
  offer: string;
  sku: string;
  version: string;
}

export interface DiskArtifact {
  location: string;
  sha256?: string;
}

/** One architecture of one stream, indexed once so every lookup is a map hit. */
export interface ArchBootImages {
  /** Stream metadata architecture key: x86_64, aarch64, ppc64le, s390x. */
  arch: string;
  release?: string;
  awsRegions: ReadonlyMap<string, AwsRegionImage>;
  awsWinliRegions: ReadonlyMap<string, AwsRegionImage>;
  gcp?: { release?: string; project: string; name: string };
  kubevirt?: { release?: string; image?: string; digestRef?: string };
  powervsRegions: ReadonlyMap<string, PowerVSRegionImage>;
  /** `artifacts.openstack.formats["qcow2.gz"].disk`. */
  openstack?: DiskArtifact;
  /** `rhel-coreos-extensions.marketplace.azure.no-purchase-plan.hyperVGen{1,2}`. */
  azureNoPurchasePlan: { Gen1?: MarketplaceImage; Gen2?: MarketplaceImage };
  /** Every artifact disk (platform/format → disk), for mirror planning and summaries. */
  artifacts: ReadonlyMap<string, DiskArtifact>;
}

export interface StreamBootImages {
  /** The OS stream name as the NodePool API spells it (`rhel-9`, `rhel-10`). */
  name: StreamName;
  /** The CoreOS metadata stream (`rhcos-4.22`). */
  metadataStream: string;
  architectures: ReadonlyMap<string, ArchBootImages>;
}

export interface BootImageCatalog {
  /** Streams the payload offers, sorted. A legacy single-stream payload offers rhel-9 only. */
  streams: readonly StreamName[];
  /** True when the payload carries the multi-stream `streams` key. */
  multiStream: boolean;
  /** The legacy `stream` key's stream (frozen to rhel-9 upstream), used for AWS Windows. */
  legacy?: StreamBootImages;
  stream(name: StreamName): StreamBootImages | undefined;
}

/** Node OS images of one stream, from the payload's image-references (digest pullspecs). */
export interface NodeImages {
  os?: string;
  extensions?: string;
}

export type ReleaseSource =
  /** Release data from the state (or a registry): the payload's own files. */
  | 'release'
  /** Nothing known about the release: boot images from the embedded default catalog. */
  | 'embedded';

export interface ReleaseInfo {
  pullspec: string;
  /** Undefined when neither the release metadata nor the tag gives a usable version. */
  version?: Version;
  versionFrom: 'releaseVersion' | 'tag' | 'none';
  source: ReleaseSource;
  bootImages: BootImageCatalog;
  /** Undefined when the payload's image-references are not known. */
  nodeImages?: ReadonlyMap<StreamName, NodeImages>;
}

/** Where the engine gets release data: a pure lookup over data loaded at the edges. */
export interface ReleaseCatalog {
  release(pullspec: string): ReleaseInfo;
}
