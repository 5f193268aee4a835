// Indexes one architecture of a CoreOS stream metadata document (coreos/stream-metadata-go
// `stream.Arch`) into Maps, once, so every boot image lookup afterwards is a map hit. Only the
// parts streamguard reads are validated; unknown platforms and fields are ignored, as Go's
// json.Unmarshal would.

import type {
  ArchBootImages,
  AwsRegionImage,
  DiskArtifact,
  MarketplaceImage,
  PowerVSRegionImage,
} from './types.js';
import {
  child,
  expectObject,
  objectEntries,
  optionalObject,
  optionalString,
  requiredString,
  type JsonObject,
} from './json-read.js';

export function parseArch(arch: string, value: unknown, where: string): ArchBootImages {
  const obj = expectObject(value, where);
  const imagesWhere = child(where, 'images');
  const images = optionalObject(obj, 'images', where);
  const extWhere = child(where, 'rhel-coreos-extensions');
  const ext = optionalObject(obj, 'rhel-coreos-extensions', where);

  const awsRegions = parseAwsRegions(
    optionalObject(images, 'aws', imagesWhere),
    child(imagesWhere, 'aws'),
  );
  const gcp = parseGcp(images, imagesWhere);
  const kubevirt = parseKubevirt(images, imagesWhere);
  const { artifacts, releases } = parseArtifacts(obj, where);
  // stream-metadata-go has no per-arch release; the artifacts and images of a build share one.
  const release =
    releases[0] || awsRegions.values().next().value?.release || gcp?.release || kubevirt?.release;
  return {
    arch,
    release: release || undefined,
    awsRegions,
    awsWinliRegions: parseAwsRegions(
      optionalObject(ext, 'aws-winli', extWhere),
      child(extWhere, 'aws-winli'),
    ),
    gcp,
    kubevirt,
    powervsRegions: parsePowerVS(images, imagesWhere),
    openstack: artifacts.get('openstack/qcow2.gz'),
    azureNoPurchasePlan: parseNoPurchasePlan(ext, extWhere),
    artifacts,
  };
}

function parseAwsRegions(aws: JsonObject | undefined, where: string): Map<string, AwsRegionImage> {
  const regionsWhere = child(where, 'regions');
  const regions = new Map<string, AwsRegionImage>();
  for (const [region, entry] of objectEntries(
    optionalObject(aws, 'regions', where),
    regionsWhere,
  )) {
    const at = child(regionsWhere, region);
    regions.set(region, {
      release: optionalString(entry, 'release', at) ?? '',
      image: requiredString(entry, 'image', at),
    });
  }
  return regions;
}

function parseGcp(images: JsonObject | undefined, where: string): ArchBootImages['gcp'] {
  const at = child(where, 'gcp');
  const gcp = optionalObject(images, 'gcp', where);
  if (!gcp) return undefined;
  return {
    release: optionalString(gcp, 'release', at),
    project: requiredString(gcp, 'project', at),
    name: requiredString(gcp, 'name', at),
  };
}

function parseKubevirt(images: JsonObject | undefined, where: string): ArchBootImages['kubevirt'] {
  const at = child(where, 'kubevirt');
  const kubevirt = optionalObject(images, 'kubevirt', where);
  if (!kubevirt) return undefined;
  return {
    release: optionalString(kubevirt, 'release', at),
    image: optionalString(kubevirt, 'image', at),
    digestRef: optionalString(kubevirt, 'digest-ref', at),
  };
}

function parsePowerVS(
  images: JsonObject | undefined,
  where: string,
): Map<string, PowerVSRegionImage> {
  const powervsWhere = child(where, 'powervs');
  const regionsWhere = child(powervsWhere, 'regions');
  const powervs = optionalObject(images, 'powervs', where);
  const regions = new Map<string, PowerVSRegionImage>();
  for (const [region, entry] of objectEntries(
    optionalObject(powervs, 'regions', powervsWhere),
    regionsWhere,
  )) {
    const at = child(regionsWhere, region);
    regions.set(region, {
      release: optionalString(entry, 'release', at) ?? '',
      object: requiredString(entry, 'object', at),
      bucket: requiredString(entry, 'bucket', at),
      url: optionalString(entry, 'url', at) ?? '',
    });
  }
  return regions;
}

/** Every `artifacts.<platform>.formats.<format>.disk`, keyed `platform/format`. */
function parseArtifacts(
  arch: JsonObject,
  where: string,
): { artifacts: Map<string, DiskArtifact>; releases: string[] } {
  const artifactsWhere = child(where, 'artifacts');
  const artifacts = new Map<string, DiskArtifact>();
  const releases: string[] = [];
  for (const [platform, entry] of objectEntries(
    optionalObject(arch, 'artifacts', where),
    artifactsWhere,
  )) {
    const platformWhere = child(artifactsWhere, platform);
    const release = optionalString(entry, 'release', platformWhere);
    if (release) releases.push(release);
    const formatsWhere = child(platformWhere, 'formats');
    const formats = optionalObject(entry, 'formats', platformWhere);
    for (const [format, files] of objectEntries(formats, formatsWhere)) {
      const formatWhere = child(formatsWhere, format);
      const disk = optionalObject(files, 'disk', formatWhere);
      if (!disk) continue;
      const diskWhere = child(formatWhere, 'disk');
      const artifact: DiskArtifact = { location: requiredString(disk, 'location', diskWhere) };
      const sha256 = optionalString(disk, 'sha256', diskWhere);
      if (sha256 !== undefined) artifact.sha256 = sha256;
      artifacts.set(`${platform}/${format}`, artifact);
    }
  }
  return { artifacts, releases };
}

/** `rhel-coreos-extensions.marketplace.azure.no-purchase-plan.hyperVGen{1,2}` (HyperShift's default). */
function parseNoPurchasePlan(
  ext: JsonObject | undefined,
  where: string,
): ArchBootImages['azureNoPurchasePlan'] {
  const marketplaceWhere = child(where, 'marketplace');
  const azureWhere = child(marketplaceWhere, 'azure');
  const planWhere = child(azureWhere, 'no-purchase-plan');
  const marketplace = optionalObject(ext, 'marketplace', where);
  const azure = optionalObject(marketplace, 'azure', marketplaceWhere);
  const plan = optionalObject(azure, 'no-purchase-plan', azureWhere);
  const result: ArchBootImages['azureNoPurchasePlan'] = {};
  const gen1 = parseMarketplaceImage(plan, 'hyperVGen1', planWhere);
  const gen2 = parseMarketplaceImage(plan, 'hyperVGen2', planWhere);
  if (gen1) result.Gen1 = gen1;
  if (gen2) result.Gen2 = gen2;
  return result;
}

function parseMarketplaceImage(
  plan: JsonObject | undefined,
  key: string,
  where: string,
): MarketplaceImage | undefined {
  const image = optionalObject(plan, key, where);
  if (!image) return undefined;
  const at = child(where, key);
  return {
    publisher: requiredString(image, 'publisher', at),
    offer: requiredString(image, 'offer', at),
    sku: requiredString(image, 'sku', at),
    version: requiredString(image, 'version', at),
  };
}
