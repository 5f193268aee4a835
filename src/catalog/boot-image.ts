// Boot image lookup for one stream, platform, architecture and region, along HyperShift's
// lookup paths (hypershift-operator/controllers/nodepool/: nodepool_controller.go for AWS and
// GCP, aws.go for Windows, azure.go, kubevirt/kubevirt.go, powervs.go, openstack/openstack.go).
// Found paths are map hits; only the missing path scans, to say where the image does exist.

import { powerVSImageRegion } from './powervs-region.js';
import type { ArchBootImages, BootImageCatalog, StreamBootImages, StreamName } from './types.js';

export type BootImagePlatform = 'AWS' | 'Azure' | 'GCP' | 'KubeVirt' | 'PowerVS' | 'OpenStack';

export interface BootImageRequest {
  /** NodePool `spec.platform.type`; platforms that need no boot image (Agent, None, …) are fine. */
  platform: BootImagePlatform | (string & {});
  /** NodePool `spec.arch`: amd64, arm64, ppc64le, s390x. */
  arch: string;
  /** HostedCluster region (AWS, PowerVS). */
  region?: string;
  /** AWS Windows LI pools boot from `aws-winli` of the legacy stream. */
  windows?: boolean;
  /** Azure marketplace generation; HyperShift's default is Gen2. */
  azureGeneration?: 'Gen1' | 'Gen2';
}

export type BootImageLookup =
  | { kind: 'found'; image: string; detail: string }
  | {
      kind: 'missing';
      reason: string;
      /** Sorted: where this stream has the image (regions, generations or architectures). */
      availableIn: string[];
      /** Streams of this catalog that do have an image for this request. */
      otherStreams: StreamName[];
    }
  | { kind: 'not-needed' };

type Found = Extract<BootImageLookup, { kind: 'found' }>;
/** Missing, with `availableIn` computed only when reported. */
type Missing = { kind: 'missing'; reason: string; available: () => Iterable<string> };
type Finder = (stream: StreamBootImages, req: BootImageRequest) => Found | Missing;

/** NodePool arch → stream metadata architecture key (HyperShift's ArchAliases). */
export function metadataArch(nodePoolArch: string): string {
  switch (nodePoolArch) {
    case '': // the NodePool API defaults arch to amd64
    case 'amd64':
      return 'x86_64';
    case 'arm64':
      return 'aarch64';
    default:
      return nodePoolArch;
  }
}

export function lookupBootImage(
  catalog: BootImageCatalog,
  stream: StreamName,
  req: BootImageRequest,
): BootImageLookup {
  const finder = finderFor(req);
  if (!finder) return { kind: 'not-needed' };
  if (req.platform === 'AWS' && req.windows) {
    // HyperShift reads Windows AMIs from the legacy `stream` key whatever the pool's stream, so
    // no other stream can help.
    const result = catalog.legacy
      ? finder(catalog.legacy, req)
      : missing('the release has no legacy "stream" boot image metadata (used for Windows AMIs)');
    return result.kind === 'found' ? result : report(result, []);
  }
  const target = catalog.stream(stream);
  const result = target
    ? finder(target, req)
    : missing(`the release has no boot image metadata for stream "${stream}"`);
  if (result.kind === 'found') return result;
  const otherStreams = catalog.streams.filter((name) => {
    const other = name === stream ? undefined : catalog.stream(name);
    return other !== undefined && finder(other, req).kind === 'found';
  });
  return report(result, otherStreams);
}

function report(result: Missing, otherStreams: StreamName[]): BootImageLookup {
  return {
    kind: 'missing',
    reason: result.reason,
    availableIn: [...result.available()].sort(),
    otherStreams,
  };
}

function missing(reason: string, available: () => Iterable<string> = () => []): Missing {
  return { kind: 'missing', reason, available };
}

function finderFor(req: BootImageRequest): Finder | undefined {
  switch (req.platform) {
    case 'AWS':
      return req.windows ? findAwsWindows : findAws;
    case 'Azure':
      return findAzure;
    case 'GCP':
      return findGcp;
    case 'KubeVirt':
      return findKubevirt;
    case 'PowerVS':
      return findPowerVS;
    case 'OpenStack':
      return findOpenStack;
    default:
      return undefined;
  }
}

function source(stream: StreamBootImages, release?: string): string {
  const build = [stream.metadataStream, release].filter(Boolean).join(' ');
  return build ? `${stream.name} (${build})` : stream.name;
}

function noArch(stream: StreamBootImages, arch: string, available: () => Iterable<string>) {
  return missing(`${source(stream)} has no boot images for architecture ${arch}`, available);
}

/** Architectures of the stream for which `has` holds (the availableIn of arch-keyed platforms). */
function archsWith(stream: StreamBootImages, has: (arch: ArchBootImages) => boolean) {
  return () => [...stream.architectures.values()].filter(has).map((a) => a.arch);
}

function findAws(stream: StreamBootImages, req: BootImageRequest): Found | Missing {
  const arch = metadataArch(req.arch);
  const images = stream.architectures.get(arch);
  if (!images) return noArch(stream, arch, () => []);
  const hit = images.awsRegions.get(req.region ?? '');
  if (hit) {
    const detail = `AWS AMI for ${arch} in ${req.region} from ${source(stream, hit.release)}`;
    return { kind: 'found', image: hit.image, detail };
  }
  const where = req.region ? `region ${req.region}` : 'an unknown region (none given)';
  return missing(`${source(stream)} has no AWS AMI for ${arch} in ${where}`, () =>
    images.awsRegions.keys(),
  );
}

function findAwsWindows(stream: StreamBootImages, req: BootImageRequest): Found | Missing {
  const arch = metadataArch(req.arch);
  const images = stream.architectures.get(arch);
  if (!images) return noArch(stream, arch, () => []);
  const hit = images.awsWinliRegions.get(req.region ?? '');
  if (hit) {
    const from = `legacy stream ${source(stream, hit.release)}`;
    const detail = `AWS Windows LI AMI for ${arch} in ${req.region} from ${from}`;
    return { kind: 'found', image: hit.image, detail };
  }
  const where = req.region ? `region ${req.region}` : 'an unknown region (none given)';
  const reason = `legacy stream ${source(stream)} has no AWS Windows LI AMI for ${arch} in ${where}`;
  return missing(reason, () => images.awsWinliRegions.keys());
}

function findGcp(stream: StreamBootImages, req: BootImageRequest): Found | Missing {
  const arch = metadataArch(req.arch);
  const gcp = stream.architectures.get(arch)?.gcp;
  const available = archsWith(stream, (a) => a.gcp !== undefined);
  if (!gcp) return missing(`${source(stream)} has no GCP image for ${arch}`, available);
  return {
    kind: 'found',
    image: `projects/${gcp.project}/global/images/${gcp.name}`,
    detail: `GCP image for ${arch} from ${source(stream, gcp.release)}`,
  };
}

function findAzure(stream: StreamBootImages, req: BootImageRequest): Found | Missing {
  const arch = metadataArch(req.arch);
  const generation = req.azureGeneration ?? 'Gen2';
  const images = stream.architectures.get(arch);
  if (!images) return noArch(stream, arch, () => []);
  const hit = images.azureNoPurchasePlan[generation];
  if (hit) {
    const detail = `Azure Marketplace image (no purchase plan, hyperV${generation}) for ${arch} from ${source(stream)}`;
    return {
      kind: 'found',
      image: `${hit.publisher}:${hit.offer}:${hit.sku}:${hit.version}`,
      detail,
    };
  }
  const reason = `${source(stream)} has no Azure Marketplace image for ${arch} generation ${generation}`;
  return missing(reason, () =>
    (['Gen1', 'Gen2'] as const).filter((gen) => images.azureNoPurchasePlan[gen] !== undefined),
  );
}

function findKubevirt(stream: StreamBootImages, req: BootImageRequest): Found | Missing {
  const arch = metadataArch(req.arch);
  const kubevirt = stream.architectures.get(arch)?.kubevirt;
  // The digest reference pins the disk; the tag reference is the fallback for old metadata.
  const image = kubevirt?.digestRef || kubevirt?.image;
  const available = archsWith(stream, (a) => Boolean(a.kubevirt?.digestRef || a.kubevirt?.image));
  if (!image) return missing(`${source(stream)} has no KubeVirt disk image for ${arch}`, available);
  const detail = `KubeVirt container disk for ${arch} from ${source(stream, kubevirt?.release)}`;
  return { kind: 'found', image, detail };
}

function findPowerVS(stream: StreamBootImages, req: BootImageRequest): Found | Missing {
  // HyperShift always takes PowerVS images from ppc64le, in the COS region nearest the cluster.
  const images = stream.architectures.get('ppc64le');
  if (!images) return noArch(stream, 'ppc64le', () => []);
  const cosRegion = powerVSImageRegion(req.region);
  const hit = images.powervsRegions.get(cosRegion);
  const asked = `COS region ${cosRegion} (PowerVS region ${req.region ?? 'not given'})`;
  if (!hit) {
    const reason = `${source(stream)} has no PowerVS image in ${asked}`;
    return missing(reason, () => images.powervsRegions.keys());
  }
  return {
    kind: 'found',
    image: hit.url || `${hit.bucket}/${hit.object}`,
    detail: `PowerVS image ${hit.object} in bucket ${hit.bucket}, ${asked}, from ${source(stream, hit.release)}`,
  };
}

function findOpenStack(stream: StreamBootImages, _req: BootImageRequest): Found | Missing {
  // HyperShift always uses the x86_64 qcow2.gz disk for OpenStack.
  const disk = stream.architectures.get('x86_64')?.openstack;
  const available = archsWith(stream, (a) => a.openstack !== undefined);
  if (!disk)
    return missing(`${source(stream)} has no OpenStack qcow2.gz disk for x86_64`, available);
  const detail = `OpenStack qcow2.gz disk for x86_64 from ${source(stream)}`;
  return { kind: 'found', image: disk.location, detail };
}
