// The embedded default catalog: the installer's stream metadata files shipped in data/catalog/
// (see data/catalog/SOURCES.md), used when nothing is known about a release. Read once, lazily.

import { readdirSync, readFileSync } from 'node:fs';
import { createCatalog } from './catalog.js';
import { parseJson } from './json-read.js';
import { mergeMarketplace, parseStreamMetadata, streamRelease } from './stream-metadata.js';
import { RHEL9, type BootImageCatalog, type StreamBootImages, type StreamName } from './types.js';

// Relative to this module: src/catalog/ under tsx/vitest and dist/catalog/ after the build are
// both two levels below the package root.
const DATA_DIR = new URL('../../data/catalog/', import.meta.url);

// The installer's own naming (hack/build-coreos-manifest.go): coreos-<stream>.json, with an
// optional marketplace/coreos-<stream>.json (flattened here to marketplace-coreos-<stream>.json).
const STREAM_FILE = /^coreos-(.+)\.json$/;

interface Embedded {
  catalog: BootImageCatalog;
  description: string;
}

let embedded: Embedded | undefined;

export function loadEmbeddedCatalog(): BootImageCatalog {
  return load().catalog;
}

/**
 * For warnings, derived from the data: `embedded catalog: installer coreos-rhel-9.json
 * rhcos-4.21 9.8.20260403-0, coreos-rhel-10.json rhcos-4.22 10.2.20260405-0`.
 */
export function embeddedCatalogDescription(): string {
  return load().description;
}

function load(): Embedded {
  if (embedded) return embedded;
  const present = new Set(readdirSync(DATA_DIR));
  const streams = new Map<StreamName, { file: string; stream: StreamBootImages }>();
  for (const file of [...present].sort()) {
    const name = STREAM_FILE.exec(file)?.[1];
    if (name === undefined) continue;
    const where = `embedded ${file}`;
    let json = parseJson(read(file), where);
    const marketplaceFile = `marketplace-${file}`;
    if (present.has(marketplaceFile)) {
      const marketplaceWhere = `embedded ${marketplaceFile}`;
      json = mergeMarketplace(json, parseJson(read(marketplaceFile), marketplaceWhere), {
        stream: where,
        marketplace: marketplaceWhere,
      });
    }
    streams.set(name, { file, stream: parseStreamMetadata(json, name, where) });
  }
  const catalog = createCatalog(
    [...streams.values()].map((s) => s.stream),
    // The installer also writes its default stream, rhel-9, as the legacy `stream` key.
    { multiStream: true, legacy: streams.get(RHEL9)?.stream },
  );
  const parts = catalog.streams.flatMap((name) => {
    const entry = streams.get(name);
    if (!entry) return [];
    const build = streamRelease(entry.stream) ?? 'unknown build';
    return [`${entry.file} ${entry.stream.metadataStream || 'unknown stream'} ${build}`];
  });
  embedded = { catalog, description: `embedded catalog: installer ${parts.join(', ')}` };
  return embedded;
}

function read(file: string): string {
  return readFileSync(new URL(file, DATA_DIR), 'utf8');
}
