// The release data the engine needs (image-references and coreos-bootimages), kept on disk by the
// release image's manifest digest so a restarted replica reads no layer again. A digest pins the
// payload, so an entry never goes stale; a damaged or foreign file is ignored (and read again).
//
// API: `readReleaseData(dir, arch, digest)` → ReleaseData | undefined (never throws);
// `writeReleaseData(dir, arch, data)` (atomic; the caller decides what a failure means).

import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../fsutil/atomic-write.js';
import { isObject, type ConfigMap } from '../k8s/objects.js';

/** What one release read yields for the catalog (shared by every pullspec of the digest). */
export interface ReleaseData {
  /** The release image's manifest digest (an index's own digest for a multi-arch release). */
  digest: string;
  version: string;
  imageReferences: unknown;
  bootImages?: ConfigMap;
}

const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const ARCH = /^[a-z0-9_]{1,16}$/;

/** `<dir>/release-data/<arch>/<algorithm>/<hex>.json`: the arch picks an index's child. */
export function releaseDataPath(dir: string, arch: string, digest: string): string {
  if (!DIGEST.test(digest)) throw new Error(`not a sha256/sha512 digest: ${digest.slice(0, 80)}`);
  if (!ARCH.test(arch)) throw new Error(`not an architecture name: ${arch.slice(0, 20)}`);
  const [algorithm, hex] = digest.split(':') as [string, string];
  return join(dir, 'release-data', arch, algorithm, `${hex}.json`);
}

export async function readReleaseData(
  dir: string,
  arch: string,
  digest: string,
): Promise<ReleaseData | undefined> {
  let entry: unknown;
  try {
    entry = JSON.parse(await readFile(releaseDataPath(dir, arch, digest), 'utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(entry) || typeof entry.sum !== 'string' || !isObject(entry.data)) return undefined;
  const data = entry.data;
  if (
    data.digest !== digest ||
    typeof data.version !== 'string' ||
    !isObject(data.imageReferences) ||
    (data.bootImages !== undefined && !isObject(data.bootImages)) ||
    sum(data) !== entry.sum
  ) {
    return undefined;
  }
  return data as unknown as ReleaseData;
}

export async function writeReleaseData(dir: string, arch: string, data: ReleaseData) {
  const path = releaseDataPath(dir, arch, data.digest);
  await mkdir(dirname(path), { recursive: true });
  // Not durable: a torn entry fails its sum on read and is simply fetched again.
  await writeFileAtomic(path, JSON.stringify({ sum: sum(data), data }), 0o644, {
    durable: false,
  });
}

function sum(data: unknown): string {
  return createHash('sha256').update(JSON.stringify(data)).digest('hex');
}
