import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { RegistryClient } from '../../src/registry/client.js';
import {
  DOCKER_CONFIG,
  DOCKER_LAYER_GZIP,
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  OCI_CONFIG,
  OCI_INDEX,
  OCI_LAYER_GZIP,
  OCI_MANIFEST,
  type Descriptor,
  type Platform,
} from '../../src/registry/manifest.js';

/** Test image builders: tar archives, gzip layers, configs, manifests, and pushing them. */

export interface TarFile {
  path: string;
  contents: Buffer | string;
  /** Typeflag; default '0'. */
  type?: string;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(path: string, size: number, type: string): Buffer {
  const block = Buffer.alloc(512);
  block.write(path, 0, 100, 'utf8');
  block.write(octal(0o644, 8), 100, 'latin1');
  block.write(octal(0, 8), 108, 'latin1');
  block.write(octal(0, 8), 116, 'latin1');
  block.write(octal(size, 12), 124, 'latin1');
  block.write(octal(1_700_000_000, 12), 136, 'latin1');
  block.fill(0x20, 148, 156);
  block.write(type, 156, 'latin1');
  block.write('ustar\u000000', 257, 'latin1');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

function pad(data: Buffer): Buffer[] {
  const rest = data.length % 512;
  return rest === 0 ? [data] : [data, Buffer.alloc(512 - rest)];
}

/** A ustar archive; paths over 100 bytes get a pax `path` record. */
export function tar(files: TarFile[]): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    const data = typeof file.contents === 'string' ? Buffer.from(file.contents) : file.contents;
    let name = file.path;
    if (Buffer.byteLength(name) > 99) {
      const record = (len: number) => `${len} path=${file.path}\n`;
      let len = Buffer.byteLength(record(0));
      while (Buffer.byteLength(record(len)) !== len) len = Buffer.byteLength(record(len));
      const pax = Buffer.from(record(len));
      parts.push(header('PaxHeaders/x', pax.length, 'x'), ...pad(pax));
      name = 'placeholder-name';
    }
    parts.push(header(name, data.length, file.type ?? '0'), ...pad(data));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function gzip(data: Buffer): Buffer {
  return gzipSync(data, { level: 1 });
}

/** Bytes that do not compress (so a gzip layer stays about this large). */
export function incompressible(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(Math.ceil(size / 4) * 4);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < out.length; i += 4) {
    // xorshift32
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  return out.subarray(0, size);
}

export interface BuiltImage {
  manifest: Buffer;
  mediaType: string;
  digest: string;
  config: Buffer;
  layers: Buffer[];
}

export function buildImage(options: {
  format: 'oci' | 'docker';
  layers: Buffer[];
  platform?: Platform;
  labels?: Record<string, string>;
}): BuiltImage {
  const platform = options.platform ?? { os: 'linux', architecture: 'amd64' };
  const config = Buffer.from(
    JSON.stringify({
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: { Labels: options.labels ?? {} },
      rootfs: {
        type: 'layers',
        diff_ids: options.layers.map((l) => sha256(l)),
      },
    }),
  );
  const oci = options.format === 'oci';
  const mediaType = oci ? OCI_MANIFEST : DOCKER_MANIFEST;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: {
        mediaType: oci ? OCI_CONFIG : DOCKER_CONFIG,
        digest: sha256(config),
        size: config.length,
      },
      layers: options.layers.map((l) => ({
        mediaType: oci ? OCI_LAYER_GZIP : DOCKER_LAYER_GZIP,
        digest: sha256(l),
        size: l.length,
      })),
    }),
  );
  return { manifest, mediaType, digest: sha256(manifest), config, layers: options.layers };
}

export function buildIndex(
  format: 'oci' | 'docker',
  children: { image: BuiltImage; platform: Platform }[],
): { bytes: Buffer; mediaType: string; digest: string } {
  const mediaType = format === 'oci' ? OCI_INDEX : DOCKER_MANIFEST_LIST;
  const manifests: Descriptor[] = children.map(({ image, platform }) => ({
    mediaType: image.mediaType,
    digest: image.digest,
    size: image.manifest.length,
    platform,
  }));
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests }));
  return { bytes, mediaType, digest: sha256(bytes) };
}

/** Pushes blobs and the manifest; returns the manifest digest. */
export async function pushImage(
  client: RegistryClient,
  repo: string,
  tag: string | undefined,
  image: BuiltImage,
): Promise<string> {
  for (const layer of image.layers) await client.pushBlob(repo, layer);
  await client.pushBlob(repo, image.config);
  return client.pushManifest(repo, tag ?? image.digest, image.mediaType, image.manifest);
}

/**
 * A release-payload-like layer: `release-manifests/image-references` and `release-metadata`
 * first (as `oc adm release new` writes them), then `filler` bytes of incompressible data.
 */
export function releaseLayer(filler: number): {
  layer: Buffer;
  imageReferences: string;
  metadata: string;
} {
  const imageReferences = JSON.stringify({
    kind: 'ImageStream',
    apiVersion: 'image.openshift.io/v1',
    metadata: { name: '4.99.0' },
    spec: {
      tags: [
        {
          name: 'rhel-coreos',
          from: { kind: 'DockerImage', name: `quay.io/x/y@sha256:${'a'.repeat(64)}` },
        },
      ],
    },
  });
  const metadata = JSON.stringify({ kind: 'cincinnati-metadata-v0', version: '4.99.0' });
  const archive = tar([
    { path: 'release-manifests/', contents: '', type: '5' },
    { path: 'release-manifests/image-references', contents: imageReferences },
    { path: 'release-manifests/release-metadata', contents: metadata },
    { path: 'release-manifests/0000_99_filler.bin', contents: incompressible(filler) },
  ]);
  return { layer: gzip(archive), imageReferences, metadata };
}
