// Builds a BootImageCatalog over parsed streams: stream lookup is a Map hit.

import type { BootImageCatalog, StreamBootImages, StreamName } from './types.js';

/** Orders stream names the way people read them: rhel-9 before rhel-10. */
export function compareStreamNames(a: StreamName, b: StreamName): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

export function createCatalog(
  streams: Iterable<StreamBootImages>,
  options: { multiStream: boolean; legacy?: StreamBootImages },
): BootImageCatalog {
  const byName = new Map<StreamName, StreamBootImages>();
  for (const stream of streams) byName.set(stream.name, stream);
  return {
    streams: Object.freeze([...byName.keys()].sort(compareStreamNames)),
    multiStream: options.multiStream,
    legacy: options.legacy,
    stream: (name) => byName.get(name),
  };
}
