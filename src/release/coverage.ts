// Boot image coverage of a release (pure): one row per stream × platform × architecture ×
// region (or Azure generation), listing the image HyperShift would boot there. It is the
// payload's coreos-bootimages data laid flat, in a fixed order, for `release inspect`.

import { compareStreamNames } from '../catalog/catalog.js';
import type { ArchBootImages, BootImageCatalog } from '../catalog/types.js';
import { compareArchs } from '../mirror/arch.js';

export interface CoverageRow {
  stream: string;
  /** AWS, AWS-WindowsLI (from the legacy `stream` key only), Azure, GCP, KubeVirt, OpenStack, PowerVS. */
  platform: string;
  /** Stream metadata architecture (x86_64, aarch64, ppc64le, s390x). */
  arch: string;
  /** AWS or PowerVS region, Azure generation (Gen1/Gen2); empty where none applies. */
  location: string;
  /** AMI, GCP image path, marketplace URN, container disk reference, disk URL, … */
  image: string;
  /** The CoreOS build the image comes from, when the metadata says. */
  release?: string;
}

const PLATFORMS = ['AWS', 'AWS-WindowsLI', 'Azure', 'GCP', 'KubeVirt', 'OpenStack', 'PowerVS'];

export function bootImageCoverage(catalog: BootImageCatalog): CoverageRow[] {
  const rows: CoverageRow[] = [];
  for (const name of catalog.streams) {
    const stream = catalog.stream(name);
    if (!stream) continue;
    for (const arch of stream.architectures.values()) rows.push(...archRows(name, arch));
  }
  // HyperShift takes Windows LI AMIs from the legacy `stream` key whatever the pool's stream
  // (boot-image.ts), so they are listed once, under the legacy stream's name.
  for (const arch of catalog.legacy?.architectures.values() ?? []) {
    for (const [region, ami] of arch.awsWinliRegions) {
      const row: CoverageRow = {
        stream: catalog.legacy?.name ?? '',
        platform: 'AWS-WindowsLI',
        arch: arch.arch,
        location: region,
        image: ami.image,
      };
      if (ami.release) row.release = ami.release;
      rows.push(row);
    }
  }
  return rows.sort(
    (a, b) =>
      compareStreamNames(a.stream, b.stream) ||
      PLATFORMS.indexOf(a.platform) - PLATFORMS.indexOf(b.platform) ||
      compareArchs(a.arch, b.arch) ||
      compare(a.location, b.location),
  );
}

function archRows(stream: string, arch: ArchBootImages): CoverageRow[] {
  const rows: CoverageRow[] = [];
  const row = (platform: string, location: string, image: string, release?: string) => {
    const r: CoverageRow = { stream, platform, arch: arch.arch, location, image };
    if (release) r.release = release;
    rows.push(r);
  };
  for (const [region, ami] of arch.awsRegions) row('AWS', region, ami.image, ami.release);
  for (const gen of ['Gen1', 'Gen2'] as const) {
    const m = arch.azureNoPurchasePlan[gen];
    if (m) row('Azure', gen, `${m.publisher}:${m.offer}:${m.sku}:${m.version}`);
  }
  if (arch.gcp) {
    row('GCP', '', `projects/${arch.gcp.project}/global/images/${arch.gcp.name}`, arch.gcp.release);
  }
  const disk = arch.kubevirt?.digestRef || arch.kubevirt?.image;
  if (disk) row('KubeVirt', '', disk, arch.kubevirt?.release);
  if (arch.openstack) row('OpenStack', '', arch.openstack.location, arch.release);
  for (const [region, image] of arch.powervsRegions) {
    row('PowerVS', region, image.url || `${image.bucket}/${image.object}`, image.release);
  }
  return rows;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
