// Reads the release payload's `coreos-bootimages` ConfigMap
// (release-manifests/0000_50_installer_coreos-bootimages.yaml) the way HyperShift's
// DeserializeImageMetadata does: the legacy `stream` key is the rhel-9 stream (frozen to rhel-9
// upstream), the `streams` key maps every stream name to its metadata; only both missing is an
// error.

import type { ConfigMap } from '../k8s/objects.js';
import { isObject } from '../k8s/objects.js';
import { createCatalog } from './catalog.js';
import { CatalogError } from './errors.js';
import {
  child,
  expectObject,
  expectString,
  objectEntries,
  parseJson,
  type JsonObject,
} from './json-read.js';
import { parseStreamMetadata, parseStreamMetadataText } from './stream-metadata.js';
import { RHEL9, type BootImageCatalog, type StreamBootImages } from './types.js';

export interface ParsedBootImages {
  /** `data.releaseVersion` as written (`0.0.1-snapshot` in unreleased builds). */
  releaseVersion?: string;
  catalog: BootImageCatalog;
}

/** Parsed catalogs by content: a payload's ConfigMap is re-read per release, parsed once. */
const MAX_CACHED = 64;
const cache = new Map<string | undefined, Map<string | undefined, BootImageCatalog>>();
let cachedCount = 0;

/**
 * `where` names the ConfigMap for error messages (e.g. `coreos-bootimages of <pullspec>`);
 * errors point below it, e.g. `<where> data.streams["rhel-10"].architectures…`.
 */
export function parseBootImagesConfigMap(cm: ConfigMap, where: string): ParsedBootImages {
  const dataWhere = where ? `${where} data` : 'data';
  const raw: unknown = isObject(cm) ? cm.data : undefined;
  const data = raw === undefined ? undefined : expectObject(raw, dataWhere);
  const stream = dataString(data, 'stream', dataWhere);
  const streams = dataString(data, 'streams', dataWhere);
  if (stream === undefined && streams === undefined) {
    throw new CatalogError(
      dataWhere,
      'coreos-bootimages ConfigMap has neither a "stream" nor a "streams" key',
    );
  }
  const releaseVersion = dataString(data, 'releaseVersion', dataWhere);
  const catalog =
    cached(stream, streams) ?? store(stream, streams, parse(stream, streams, dataWhere));
  return releaseVersion === undefined ? { catalog } : { releaseVersion, catalog };
}

function dataString(data: JsonObject | undefined, key: string, where: string) {
  if (!data || !Object.hasOwn(data, key)) return undefined;
  return expectString(data[key], child(where, key));
}

function parse(stream: string | undefined, streams: string | undefined, where: string) {
  const legacy =
    stream === undefined
      ? undefined
      : parseStreamMetadataText(stream, RHEL9, child(where, 'stream'));
  if (streams === undefined) {
    // A single-stream payload (before 5.0) offers rhel-9 only, from the legacy key.
    return createCatalog(legacy ? [legacy] : [], { multiStream: false, legacy });
  }
  const streamsWhere = child(where, 'streams');
  const map = expectObject(parseJson(streams, streamsWhere), streamsWhere);
  const parsed: StreamBootImages[] = [];
  for (const [name, value] of objectEntries(map, streamsWhere)) {
    parsed.push(parseStreamMetadata(value, name, child(streamsWhere, name)));
  }
  return createCatalog(parsed, { multiStream: true, legacy });
}

function cached(stream: string | undefined, streams: string | undefined) {
  const inner = cache.get(stream);
  const hit = inner?.get(streams);
  if (inner && hit) {
    // Keep recently used content last, so eviction drops the least recently used first.
    cache.delete(stream);
    cache.set(stream, inner);
  }
  return hit;
}

function store(stream: string | undefined, streams: string | undefined, catalog: BootImageCatalog) {
  while (cachedCount >= MAX_CACHED) {
    const oldest = cache.entries().next().value;
    if (!oldest) break;
    cache.delete(oldest[0]);
    cachedCount -= oldest[1].size;
  }
  let inner = cache.get(stream);
  if (!inner) cache.set(stream, (inner = new Map()));
  inner.set(streams, catalog);
  cachedCount += 1;
  return catalog;
}
