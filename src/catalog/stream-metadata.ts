// Parses one CoreOS stream metadata document (the installer's `coreos-<stream>.json`, or one
// entry of the payload ConfigMap's `stream`/`streams` keys) into StreamBootImages.

import type { ArchBootImages, StreamBootImages, StreamName } from './types.js';
import { parseArch } from './arch-images.js';
import {
  child,
  expectObject,
  field,
  objectEntries,
  optionalString,
  parseJson,
} from './json-read.js';

/**
 * `name` is the OS stream name (`rhel-10`); `where` is the document's path for error messages.
 * Every architecture is indexed once here.
 */
export function parseStreamMetadata(
  json: unknown,
  name: StreamName,
  where: string,
): StreamBootImages {
  const doc = expectObject(json, where);
  const archWhere = child(where, 'architectures');
  // `architectures` is what makes the document useful, so it must be there.
  const architectures = expectObject(field(doc, 'architectures'), archWhere);
  const archs = new Map<string, ArchBootImages>();
  for (const [arch, value] of objectEntries(architectures, archWhere)) {
    archs.set(arch, parseArch(arch, value, child(archWhere, arch)));
  }
  return {
    name,
    metadataStream: optionalString(doc, 'stream', where) ?? '',
    architectures: archs,
  };
}

export function parseStreamMetadataText(
  text: string,
  name: StreamName,
  where: string,
): StreamBootImages {
  return parseStreamMetadata(parseJson(text, where), name, where);
}

/** The build of a stream (`9.8.20260403-0`), from x86_64 or else the first architecture. */
export function streamRelease(stream: StreamBootImages): string | undefined {
  const x86 = stream.architectures.get('x86_64')?.release;
  if (x86) return x86;
  for (const arch of stream.architectures.values()) if (arch.release) return arch.release;
  return undefined;
}

/**
 * What the installer's hack/build-coreos-manifest.go does when it builds the payload ConfigMap:
 * for each architecture present in both files, set
 * `architectures.<arch>["rhel-coreos-extensions"].marketplace` to the marketplace file's
 * `<arch>` entry (replacing any marketplace there). Returns a new document; inputs are untouched.
 */
export function mergeMarketplace(
  streamJson: unknown,
  marketplaceJson: unknown,
  where = { stream: '', marketplace: '' },
): Record<string, unknown> {
  const doc = expectObject(streamJson, where.stream);
  const archWhere = child(where.stream, 'architectures');
  const architectures = expectObject(field(doc, 'architectures'), archWhere);
  const marketplace = expectObject(marketplaceJson, where.marketplace);
  const merged: Record<string, unknown> = {};
  for (const [arch, value] of objectEntries(architectures, archWhere)) {
    const entry = field(marketplace, arch);
    if (entry === undefined) {
      merged[arch] = value;
      continue;
    }
    const atArch = child(archWhere, arch);
    const mkt = expectObject(entry, child(where.marketplace, arch));
    const ext = field(value, 'rhel-coreos-extensions');
    const extensions =
      ext === undefined ? {} : expectObject(ext, child(atArch, 'rhel-coreos-extensions'));
    merged[arch] = { ...value, 'rhel-coreos-extensions': { ...extensions, marketplace: mkt } };
  }
  return { ...doc, architectures: merged };
}
