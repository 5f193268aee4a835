import { RegistryError, type RegistryErrorInit } from './errors.js';

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const OCI_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

/** Sent on every manifest GET/HEAD: all four, so no registry answers "index not accepted". */
export const MANIFEST_ACCEPT = [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST];

export type ManifestMediaType =
  typeof OCI_INDEX | typeof OCI_MANIFEST | typeof DOCKER_MANIFEST_LIST | typeof DOCKER_MANIFEST;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string | undefined;
  'os.version'?: string | undefined;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export type ManifestJson = ImageManifest | ImageIndex;

export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST;
}

export function isIndex(json: ManifestJson): json is ImageIndex {
  return Array.isArray((json as ImageIndex).manifests);
}

/** `application/json; charset=utf-8` → `application/json`. */
export function bareMediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const bare = contentType.split(';')[0]?.trim().toLowerCase();
  return bare === '' ? undefined : bare;
}

const GENERIC_TYPES = new Set(['application/json', 'text/plain', 'application/octet-stream']);

/**
 * Parses and checks a manifest body and settles its media type. The body's `mediaType`, when
 * present, must equal the Content-Type (when that is a specific manifest type): a registry or proxy
 * that relabels content is not trusted. Without a body `mediaType` (allowed for OCI), the
 * Content-Type decides, else the shape (`manifests` → index, `config`+`layers` → manifest).
 */
export function parseManifest(
  bytes: Buffer,
  contentType: string | undefined,
  where: RegistryErrorInit,
): { mediaType: ManifestMediaType; json: ManifestJson } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new RegistryError('manifest is not valid JSON', { ...where, code: 'INVALID_MANIFEST' });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new RegistryError('manifest is not a JSON object', {
      ...where,
      code: 'INVALID_MANIFEST',
    });
  }
  const obj = parsed as Record<string, unknown>;
  const bodyType = typeof obj.mediaType === 'string' ? obj.mediaType : undefined;
  const header = bareMediaType(contentType);
  const headerType = header !== undefined && !GENERIC_TYPES.has(header) ? header : undefined;

  if (bodyType !== undefined && headerType !== undefined && bodyType !== headerType) {
    throw new RegistryError(
      `manifest mediaType ${bodyType} differs from Content-Type ${headerType}`,
      { ...where, code: 'MEDIA_TYPE_MISMATCH' },
    );
  }
  let mediaType = bodyType ?? headerType;
  if (mediaType === undefined) {
    if (Array.isArray(obj.manifests)) mediaType = OCI_INDEX;
    else if (obj.config !== undefined && Array.isArray(obj.layers)) mediaType = OCI_MANIFEST;
  }
  if (!isManifestMediaType(mediaType)) {
    const hint = obj.schemaVersion === 1 ? ' (Docker schema 1 manifests are not supported)' : '';
    throw new RegistryError(`unsupported manifest media type ${String(mediaType)}${hint}`, {
      ...where,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
  }
  if (obj.schemaVersion !== 2) {
    throw new RegistryError(`unsupported schemaVersion ${String(obj.schemaVersion)}`, {
      ...where,
      code: 'INVALID_MANIFEST',
    });
  }
  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(obj.manifests) || !obj.manifests.every(isDescriptor)) {
      throw new RegistryError('index without a valid manifests[] list', {
        ...where,
        code: 'INVALID_MANIFEST',
      });
    }
  } else if (
    !isDescriptor(obj.config) ||
    !Array.isArray(obj.layers) ||
    !obj.layers.every(isDescriptor)
  ) {
    throw new RegistryError('image manifest without a valid config and layers[]', {
      ...where,
      code: 'INVALID_MANIFEST',
    });
  }
  return { mediaType, json: obj as unknown as ManifestJson };
}

function isManifestMediaType(value: string | undefined): value is ManifestMediaType {
  return (
    value === OCI_INDEX ||
    value === OCI_MANIFEST ||
    value === DOCKER_MANIFEST_LIST ||
    value === DOCKER_MANIFEST
  );
}

function isDescriptor(value: unknown): value is Descriptor {
  if (typeof value !== 'object' || value === null) return false;
  const d = value as Record<string, unknown>;
  return (
    typeof d.mediaType === 'string' &&
    typeof d.digest === 'string' &&
    typeof d.size === 'number' &&
    Number.isSafeInteger(d.size) &&
    d.size >= 0 &&
    (d.platform === undefined || isPlatform(d.platform))
  );
}

/** The OCI spec requires os and architecture strings; platform selection reads them as such. */
function isPlatform(value: unknown): value is Platform {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Record<string, unknown>;
  return (
    typeof p.os === 'string' &&
    typeof p.architecture === 'string' &&
    (p.variant === undefined || typeof p.variant === 'string')
  );
}

const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
  i386: '386',
};

/** Go names (`amd64`, `arm64`) for the usual aliases (`x86_64`, `aarch64`). */
export function normalizeArchitecture(arch: string): string {
  const lower = arch.toLowerCase();
  return ARCH_ALIASES[lower] ?? lower;
}

function normalizeVariant(architecture: string, variant: string | undefined): string | undefined {
  const v = variant === undefined || variant === '' ? undefined : variant.toLowerCase();
  // arm64 without a variant means v8 (containerd's platform matcher treats them as the same).
  if (architecture === 'arm64' && (v === undefined || v === 'v8')) return undefined;
  return v;
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/**
 * The child of an index for `wanted`: os and architecture must match (architecture aliases
 * normalised); a wanted variant must match too. Without a wanted variant, a child without variant
 * is preferred, then the first listed. Attestation entries (`unknown/unknown`) never match.
 */
export function selectPlatform(index: ImageIndex, wanted: Platform): Descriptor | undefined {
  const arch = normalizeArchitecture(wanted.architecture);
  const os = wanted.os.toLowerCase();
  const variant = normalizeVariant(arch, wanted.variant);
  const candidates = index.manifests.filter((d) => {
    if (d.platform === undefined) return false;
    return (
      d.platform.os.toLowerCase() === os && normalizeArchitecture(d.platform.architecture) === arch
    );
  });
  if (variant !== undefined) {
    return candidates.find((d) => normalizeVariant(arch, d.platform?.variant) === variant);
  }
  return (
    candidates.find((d) => normalizeVariant(arch, d.platform?.variant) === undefined) ??
    candidates[0]
  );
}

export function listPlatforms(index: ImageIndex): string[] {
  return index.manifests
    .filter((d) => d.platform !== undefined)
    .map((d) => formatPlatform(d.platform as Platform));
}
