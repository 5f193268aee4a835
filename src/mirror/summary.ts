// The human summary (summary.md) and the machine-readable image list (images.json) of a plan.
//
// Sizes count shared blobs once: a set of images weighs the union of its layer digests plus,
// for each distinct manifest, its manifest and config bytes (`size` minus its layers). Images
// whose size is unknown are counted and reported, never guessed.

import { compareStreamNames } from '../catalog/catalog.js';
import type { ArchBootImages, StreamBootImages } from '../catalog/types.js';
import { compareArchs } from './arch.js';
import { compareText, parseRef } from './ref.js';
import {
  SHARED,
  type ImagePlan,
  type PlanImage,
  type PlannedImage,
  type PlannedRelease,
} from './types.js';

export interface SizeTotal {
  /** Image copies in the set. */
  images: number;
  /** Distinct manifests among them. */
  manifests: number;
  /** Bytes of the distinct blobs (layers once, plus manifest and config of each manifest). */
  bytes: number;
  /** Distinct manifests whose size is unknown (not in `bytes`). */
  unknown: number;
}

export function totalSize(images: readonly PlannedImage[]): SizeTotal {
  const manifests = new Map<string, PlannedImage>();
  for (const image of images) if (!manifests.has(image.digest)) manifests.set(image.digest, image);
  const layers = new Map<string, number>();
  let bytes = 0;
  let unknown = 0;
  for (const image of manifests.values()) {
    if (image.layers !== undefined) {
      let layerBytes = 0;
      for (const layer of image.layers) {
        layerBytes += layer.size;
        if (!layers.has(layer.digest)) layers.set(layer.digest, layer.size);
      }
      if (image.size !== undefined) bytes += Math.max(0, image.size - layerBytes);
    } else if (image.size !== undefined) {
      bytes += image.size;
    } else {
      unknown += 1;
    }
  }
  for (const size of layers.values()) bytes += size;
  return { images: images.length, manifests: manifests.size, bytes, unknown };
}

export interface StreamSizes {
  shared: SizeTotal;
  /** Shared images plus the stream's own, per selected stream. */
  perStream: Map<string, SizeTotal>;
  /** What each stream adds to the plan: its own images, and the bytes no other image has. */
  added: Map<string, SizeTotal>;
  all: SizeTotal;
}

export function streamSizes(plan: ImagePlan): StreamSizes {
  const shared = plan.images.filter((i) => i.stream === SHARED);
  const all = totalSize(plan.images);
  const perStream = new Map<string, SizeTotal>();
  const added = new Map<string, SizeTotal>();
  for (const stream of plan.streams) {
    const own = plan.images.filter((i) => i.stream === stream);
    perStream.set(stream, totalSize([...shared, ...own]));
    const without = totalSize(plan.images.filter((i) => i.stream !== stream));
    added.set(stream, {
      images: own.length,
      manifests: all.manifests - without.manifests,
      bytes: all.bytes - without.bytes,
      unknown: all.unknown - without.unknown,
    });
  }
  return { shared: totalSize(shared), perStream, added, all };
}

/** Every distinct destination repository (registries such as ECR need them created first). */
export function destinationRepositories(images: readonly PlannedImage[]): string[] {
  return [...new Set(images.map((i) => parseRef(i.destination, 'destination').name))].sort(
    compareText,
  );
}

/** images.json: the plan's releases and every image, sorted by destination, fixed key order. */
export function renderImagesJson(plan: ImagePlan): string {
  const doc = {
    to: plan.to,
    maxNestedPaths: plan.maxNestedPaths,
    streams: plan.streams,
    releases: plan.releases.map((r) => ({
      pullspec: r.data.pullspec,
      releaseTag: r.releaseTag,
      version: r.data.version,
      arch: r.arch,
      digest: r.data.digest,
      mediaType: r.data.mediaType,
      streams: r.streams,
    })),
    images: plan.images.map((i): PlanImage => ({
      release: i.release,
      kind: i.kind,
      tag: i.tag,
      stream: i.stream,
      arch: i.arch ?? null,
      source: i.source,
      destination: i.destination,
      digest: i.digest,
      mediaType: i.mediaType ?? null,
      size: i.size ?? null,
    })),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export function renderSummary(plan: ImagePlan, files: readonly string[]): string {
  const out: string[] = [];
  const sizes = streamSizes(plan);
  out.push('# Mirror plan', '');
  out.push(`Destination: \`${plan.to}\``);
  out.push(
    `Max nested paths: ${plan.maxNestedPaths > 0 ? String(plan.maxNestedPaths) : 'off'}`,
    `Streams covered: ${plan.streams.join(', ') || 'none'} ` +
      `(the releases offer ${plan.offeredStreams.join(', ') || 'none'})`,
    '',
  );

  out.push('## Releases', '');
  out.push(
    '| release | version | arch | streams offered | digest |',
    '| --- | --- | --- | --- | --- |',
  );
  for (const r of plan.releases) {
    out.push(
      row([r.data.pullspec, r.data.version, r.arch, r.streams.join(', '), `\`${r.data.digest}\``]),
    );
  }
  const notes = plan.releases.flatMap((r) => r.notes);
  if (notes.length > 0) out.push('', ...notes.map((n) => `- ${n}`));
  out.push('');

  out.push('## Images per stream', '');
  out.push(
    'Each stream needs the shared images plus its own node OS images (and KubeVirt disk); ' +
      'blobs shared between images are counted once.',
    '',
  );
  out.push('| images of | images | size | size unknown |', '| --- | ---: | ---: | ---: |');
  out.push(sizeRow('shared only', sizes.shared));
  for (const [stream, total] of sizes.perStream) out.push(sizeRow(`${SHARED} + ${stream}`, total));
  out.push(sizeRow('whole plan', sizes.all), '');

  out.push('## What each stream adds', '');
  if (plan.streams.length === 0) out.push('No stream is covered.');
  for (const [stream, total] of sizes.added) {
    const own = plan.images.filter((i) => i.stream === stream);
    out.push(
      `- **${stream}** adds ${total.images} image${total.images === 1 ? '' : 's'} ` +
        `(${own.map((i) => `\`${i.release}-${i.tag}\``).join(', ') || 'none'}) and ` +
        `${formatBytes(total.bytes)} that no other image of the plan carries` +
        (total.unknown > 0 ? `, plus ${total.unknown} image(s) of unknown size.` : '.'),
    );
  }
  if (plan.excluded.length > 0) {
    out.push(
      '',
      `Left out (streams not covered): ${plan.excluded.map((e) => `\`${e.release}-${e.tag}\` (${e.stream})`).join(', ')}.`,
    );
  }
  out.push('');

  out.push('## Destination repositories to create first', '');
  out.push(
    'Registries that do not create repositories on push (such as Amazon ECR) need these first:',
    '',
  );
  for (const repo of destinationRepositories(plan.images)) out.push(`- \`${repo}\``);
  out.push('');

  out.push('## Files', '');
  for (const file of files) out.push(`- \`${file}\`: ${describeFile(file, plan)}`);
  if (!files.includes('itms.yaml')) {
    out.push('- no `itms.yaml`: no image is referenced by tag (as oc-mirror, no empty file)');
  }
  if (!files.includes('idms.yaml')) out.push('- no `idms.yaml`: no image is referenced by digest');
  out.push('');

  out.push('## Boot artifacts', '');
  let any = false;
  for (const release of plan.releases) {
    const catalog = release.catalog;
    if (!catalog) {
      out.push(`No coreos-bootimages ConfigMap is known for ${release.data.pullspec}.`, '');
      continue;
    }
    for (const streamName of [...catalog.streams].sort(compareStreamNames)) {
      if (!plan.streams.includes(streamName)) continue;
      const stream = catalog.stream(streamName);
      if (!stream) continue;
      any = true;
      bootArtifacts(out, release, stream, plan);
    }
  }
  if (!any) out.push('No boot artifacts for the covered streams.', '');
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}

function bootArtifacts(
  out: string[],
  release: PlannedRelease,
  stream: StreamBootImages,
  plan: ImagePlan,
): void {
  out.push(
    `### ${stream.name} — ${release.releaseTag}` +
      (stream.metadataStream ? ` (CoreOS stream ${stream.metadataStream})` : ''),
    '',
  );
  const archs = release.architectures.filter((a) => stream.architectures.has(a));
  const absent = release.architectures.filter((a) => !stream.architectures.has(a));
  if (absent.length > 0) out.push(`No ${stream.name} boot images for ${absent.join(', ')}.`, '');
  for (const archName of [...archs].sort(compareArchs)) {
    const arch = stream.architectures.get(archName);
    if (arch) archArtifacts(out, release, stream.name, arch, plan);
  }
}

function archArtifacts(
  out: string[],
  release: PlannedRelease,
  stream: string,
  arch: ArchBootImages,
  plan: ImagePlan,
): void {
  out.push(`#### ${arch.arch}${arch.release ? ` (build ${arch.release})` : ''}`, '');
  if (arch.awsRegions.size > 0) {
    out.push('AWS AMIs:', '', '| region | AMI |', '| --- | --- |');
    for (const [region, image] of sortedEntries(arch.awsRegions)) {
      out.push(row([region, `\`${image.image}\``]));
    }
    out.push('');
  }
  if (arch.gcp) {
    out.push(`GCP image: \`projects/${arch.gcp.project}/global/images/${arch.gcp.name}\``, '');
  }
  const { Gen1, Gen2 } = arch.azureNoPurchasePlan;
  if (Gen1 || Gen2) {
    out.push('Azure Marketplace images (no purchase plan):', '');
    for (const [gen, image] of [
      ['Gen1', Gen1],
      ['Gen2', Gen2],
    ] as const) {
      if (image) {
        out.push(`- ${gen}: \`${image.publisher}:${image.offer}:${image.sku}:${image.version}\``);
      }
    }
    out.push('');
  }
  if (arch.kubevirt) {
    const planned = plan.images.find(
      (i) =>
        i.kind === 'kubevirt' &&
        i.release === release.releaseTag &&
        i.stream === stream &&
        i.arch === arch.arch,
    );
    out.push(
      `KubeVirt container disk: \`${arch.kubevirt.digestRef ?? arch.kubevirt.image ?? '?'}\`` +
        (arch.kubevirt.image && arch.kubevirt.digestRef ? ` (\`${arch.kubevirt.image}\`)` : '') +
        (planned ? `, mirrored to \`${planned.destination}\`` : ', not mirrored by this plan'),
      '',
    );
  }
  if (arch.powervsRegions.size > 0) {
    out.push(
      'PowerVS images:',
      '',
      '| region | object | bucket | URL |',
      '| --- | --- | --- | --- |',
    );
    for (const [region, image] of sortedEntries(arch.powervsRegions)) {
      out.push(row([region, `\`${image.object}\``, image.bucket, image.url]));
    }
    out.push('');
  }
  if (arch.artifacts.size > 0) {
    out.push('Disk images:', '', '| platform/format | URL | sha256 |', '| --- | --- | --- |');
    for (const [key, disk] of sortedEntries(arch.artifacts)) {
      out.push(row([key, disk.location, disk.sha256 ? `\`${disk.sha256}\`` : '']));
    }
    out.push('');
  }
}

function sortedEntries<V>(map: ReadonlyMap<string, V>): [string, V][] {
  return [...map].sort(([a], [b]) => compareText(a, b));
}

function row(cells: string[]): string {
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
}

function sizeRow(label: string, total: SizeTotal): string {
  return row([
    label,
    String(total.images),
    formatBytes(total.bytes),
    total.unknown > 0 ? `${total.unknown} image(s)` : '',
  ]);
}

/** `1,234,567,890 bytes (1.15 GiB)`: exact, and readable; the same on every machine. */
export function formatBytes(bytes: number): string {
  const exact = `${String(bytes).replace(/\B(?=(\d{3})+(?!\d))/g, ',')} bytes`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = '';
  for (const u of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  return unit ? `${exact} (${value.toFixed(2)} ${unit})` : exact;
}

function describeFile(file: string, plan: ImagePlan): string {
  if (file.startsWith('imageset-config')) {
    return 'oc-mirror v2 ImageSetConfiguration (`oc-mirror --v2 -c <file> …`)';
  }
  switch (file) {
    case 'idms.yaml':
      return 'ImageDigestMirrorSet objects (apply to the cluster, or use in install-config)';
    case 'itms.yaml':
      return 'ImageTagMirrorSet objects for references by tag';
    case 'mapping.txt':
      return `${plan.images.length} copies, \`docker://SRC=docker://DST\` (oc-mirror dry-run format)`;
    case 'images.json':
      return 'every image with its stream, digest, media type and size';
    case 'summary.md':
      return 'this summary';
    default:
      return '';
  }
}
