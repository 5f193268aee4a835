// `mirror verify`: which images of a plan the mirror registry holds, checked by digest, and the
// mirror inventory ConfigMap the engine's `mirrored` rule reads (src/state/mirror-inventory.ts).
//
// Every planned destination is asked for by digest (HEAD `<destination repository>@<digest>`), not
// by tag: a digest is what an ImageDigestMirrorSet pulls, and a tag can have been moved since the
// copy. Identical (repository, digest) pairs are asked once. The registry client bounds the
// requests in flight; a HEAD answered 404 is a missing image, any other failure (network, 401,
// 5xx after retries) is an error of the whole run, never a miss.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ANNOTATIONS } from '../engine/types.js';
import type { ConfigMap } from '../k8s/objects.js';
import type { RegistryClient } from '../registry/client.js';
import type { ImageReference } from '../registry/reference.js';
import { PlanError } from './errors.js';
import type { PlanImage } from './types.js';

export type { PlanImage };
import { compareText, isDigest, parseRef, parseRepository } from './ref.js';

/** The parts of images.json verify needs. */
export interface PlanImages {
  /** The plan's destination (`registry[/namespace]`). */
  to: string;
  images: PlanImage[];
}

export interface VerifyOptions {
  /** Inventory ConfigMap name (default `streamguard-mirror-inventory`). */
  name?: string;
  /** Inventory ConfigMap namespace (default `streamguard`). */
  namespace?: string;
  /** HEAD requests started at once (the client's own limit applies too). Default 16. */
  concurrency?: number;
}

export interface VerifyResult {
  /** The mirror registry host (`registry[:port]`), as the inventory annotation names it. */
  registry: string;
  /** Planned images found in the mirror, in plan order (sorted by destination). */
  present: PlanImage[];
  /** Planned images the mirror does not have. */
  missing: PlanImage[];
  /** Mirror inventory: the sorted, unique digests found, one a line in `data.digests`. */
  inventory: ConfigMap;
  /** HEAD requests the check needed (distinct repository and digest pairs). */
  checked: number;
}

export const DEFAULT_INVENTORY_NAME = 'streamguard-mirror-inventory';
export const DEFAULT_INVENTORY_NAMESPACE = 'streamguard';
const SHA256 = /^sha256:[0-9a-f]{64}$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Reads and checks `<planDir>/images.json` (a PlanError names what is wrong). */
export async function readPlanImages(planDir: string): Promise<PlanImages> {
  const file = join(planDir, 'images.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PlanError(
      code === 'ENOENT'
        ? `${file} not found: --plan must be a directory written by \`streamguard plan\``
        : `cannot read ${file}: ${(err as Error).message}`,
    );
  }
  return parsePlanImages(text, file);
}

export function parsePlanImages(text: string, where = 'images.json'): PlanImages {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PlanError(`${where} is not JSON: ${(err as Error).message}`);
  }
  const doc = json as { to?: unknown; images?: unknown } | null;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new PlanError(`${where}: expected an object with "to" and "images"`);
  }
  if (typeof doc.to !== 'string' || doc.to === '') throw new PlanError(`${where}: "to" is missing`);
  parseRepository(doc.to, `${where}: "to"`);
  if (!Array.isArray(doc.images)) throw new PlanError(`${where}: "images" is not a list`);
  const images = doc.images.map((raw: unknown, i): PlanImage => {
    const at = `${where}: images[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw new PlanError(`${at} is not an object`);
    const entry = raw as Record<string, unknown>;
    const text = (key: string): string => {
      const value = entry[key];
      if (typeof value !== 'string') throw new PlanError(`${at}.${key} must be a string`);
      return value;
    };
    const orNull = <T>(key: string, type: 'string' | 'number'): T | null => {
      const value = entry[key];
      if (value === undefined || value === null) return null;
      if (typeof value !== type) throw new PlanError(`${at}.${key} must be a ${type} or null`);
      return value as T;
    };
    const image: PlanImage = {
      release: text('release'),
      kind: text('kind'),
      tag: text('tag'),
      stream: text('stream'),
      arch: orNull<string>('arch', 'string'),
      source: text('source'),
      destination: text('destination'),
      digest: text('digest'),
      mediaType: orNull<string>('mediaType', 'string'),
      size: orNull<number>('size', 'number'),
    };
    if (!isDigest(image.digest)) {
      throw new PlanError(`${at}.digest ${JSON.stringify(image.digest)} is not a digest`);
    }
    parseRef(image.destination, `${at}.destination`);
    return image;
  });
  return { to: doc.to, images };
}

/** The registry client reference for `destination`'s repository at `digest`. */
function headReference(image: PlanImage): ImageReference {
  const ref = parseRef(image.destination, 'destination');
  return { registry: ref.domain, repository: ref.path, digest: image.digest };
}

/**
 * Checks every image of the plan in `planDir` against the mirror registry (HEAD by digest) and
 * builds the mirror inventory of the digests found.
 */
export async function verifyPlan(
  client: RegistryClient,
  planDir: string,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  checkOptions(options);
  const plan = await readPlanImages(planDir);
  return verifyPlanImages(client, plan, options);
}

function checkOptions(options: VerifyOptions) {
  const name = options.name ?? DEFAULT_INVENTORY_NAME;
  const namespace = options.namespace ?? DEFAULT_INVENTORY_NAMESPACE;
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    throw new PlanError(`inventory name ${JSON.stringify(name)} is not a valid ConfigMap name`);
  }
  if (namespace.length > 63 || !DNS_LABEL.test(namespace)) {
    throw new PlanError(`namespace ${JSON.stringify(namespace)} is not a valid namespace name`);
  }
  const concurrency = options.concurrency ?? 16;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new PlanError(`concurrency must be a positive whole number, got ${String(concurrency)}`);
  }
  return { name, namespace, concurrency };
}

export async function verifyPlanImages(
  client: RegistryClient,
  plan: PlanImages,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const { name, namespace, concurrency } = checkOptions(options);
  const registry = parseRepository(plan.to, 'images.json "to"').domain;

  // One HEAD per distinct (registry, repository, digest).
  const checks = new Map<string, ImageReference>();
  const keyOf = (ref: ImageReference) => `${ref.registry}/${ref.repository}@${ref.digest ?? ''}`;
  const refs = plan.images.map((image) => {
    const ref = headReference(image);
    checks.set(keyOf(ref), ref);
    return ref;
  });

  // One token for every repository of a registry, when it uses Bearer tokens (no-op otherwise).
  const repositories = new Map<string, Set<string>>();
  for (const ref of checks.values()) {
    let set = repositories.get(ref.registry);
    if (!set) repositories.set(ref.registry, (set = new Set()));
    set.add(ref.repository);
  }
  for (const [host, repos] of repositories) {
    const sorted = [...repos].sort(compareText);
    // Scopes travel in the token URL: keep each token request to a sane length.
    for (let i = 0; i < sorted.length; i += 50) {
      await client.authorizeRepositories(host, sorted.slice(i, i + 50));
    }
  }

  const found = new Map<string, boolean>();
  const queue = [...checks.entries()];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [key, ref] = next;
      try {
        found.set(key, (await client.headManifest(ref)) !== undefined);
      } catch (err) {
        queue.length = 0; // the run has failed: start nothing more
        throw err;
      }
    }
  };
  // Every worker settles before the first failure is reported, so nothing is left running.
  const settled = await Promise.allSettled(
    Array.from({ length: Math.min(concurrency, queue.length) }, worker),
  );
  const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;

  const present: PlanImage[] = [];
  const missing: PlanImage[] = [];
  plan.images.forEach((image, i) => {
    const ref = refs[i];
    if (ref && found.get(keyOf(ref)) === true) present.push(image);
    else missing.push(image);
  });
  const digests = [...new Set(present.map((i) => i.digest))]
    // The inventory format holds sha256 digests only (all a plan has in practice).
    .filter((d) => SHA256.test(d))
    .sort(compareText);
  return {
    registry,
    present,
    missing,
    inventory: inventoryConfigMap(registry, digests, name, namespace),
    checked: checks.size,
  };
}

/** The mirror inventory ConfigMap of `digests` found in `registry`. */
export function inventoryConfigMap(
  registry: string,
  digests: readonly string[],
  name = DEFAULT_INVENTORY_NAME,
  namespace = DEFAULT_INVENTORY_NAMESPACE,
): ConfigMap {
  const sorted = [...new Set(digests)].sort(compareText);
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace,
      annotations: { [ANNOTATIONS.mirrorInventory]: registry },
    },
    data: { digests: sorted.length === 0 ? '' : `${sorted.join('\n')}\n` },
  };
}

/** The inventory as a YAML document (digests as a literal block, one a line). */
export function renderInventory(inventory: ConfigMap): string {
  return stringify(inventory, { lineWidth: 0 });
}
