// Release data from offline state: per release pullspec, the payload's `coreos-bootimages`
// ConfigMap and optionally its `image-references` ImageStream, each annotated with the pullspec.
// A release the state does not describe gets the embedded default catalog, and says so.

import { parseBootImagesConfigMap } from '../catalog/bootimages-configmap.js';
import { loadEmbeddedCatalog } from '../catalog/embedded.js';
import { CatalogError } from '../catalog/errors.js';
import { nodeImagesFromImageStream } from '../catalog/image-references.js';
import type { BootImageCatalog, ReleaseCatalog, ReleaseInfo } from '../catalog/types.js';
import { parseVersion, versionFromPullspec } from '../catalog/version.js';
import { ANNOTATIONS } from '../engine/types.js';
import type { ConfigMap, KubeObject } from '../k8s/objects.js';
import { StateError } from './errors.js';
import { releaseDataKind, type ReleaseDataKind } from './release-data.js';
import { describeObject, formatSource, sourceOf } from './source.js';

export interface StateReleaseCatalogOptions {
  /** The catalog for releases the state does not describe (tests inject one). */
  embedded?: () => BootImageCatalog;
}

type ReleaseData = Partial<Record<ReleaseDataKind, KubeObject>>;

/** Bounds the memo of unknown releases: a long-running webhook may see any number of them. */
const MAX_FALLBACKS = 1024;

export class StateReleaseCatalog implements ReleaseCatalog {
  readonly #known = new Map<string, ReleaseInfo>();
  readonly #fallbacks = new Map<string, ReleaseInfo>();
  readonly #loadEmbedded: () => BootImageCatalog;
  #embedded: BootImageCatalog | undefined;

  /** Throws StateError on malformed release data or two data sets for one pullspec. */
  constructor(objects: readonly KubeObject[] = [], options: StateReleaseCatalogOptions = {}) {
    this.#loadEmbedded = options.embedded ?? loadEmbeddedCatalog;
    for (const [pullspec, data] of groupByPullspec(objects)) {
      this.#known.set(pullspec, this.#fromState(pullspec, data));
    }
  }

  /** Pullspecs the state has release data for, sorted. */
  pullspecs(): readonly string[] {
    return [...this.#known.keys()].sort();
  }

  /** Matched on the exact pullspec (trimmed): a tag and a digest of one release are different. */
  release(pullspec: string): ReleaseInfo {
    const trimmed = pullspec.trim();
    const known = this.#known.get(trimmed) ?? this.#fallbacks.get(trimmed);
    if (known) return known;
    const info = Object.freeze({ ...tagVersion(trimmed), ...this.#embeddedPart(trimmed) });
    if (this.#fallbacks.size >= MAX_FALLBACKS) this.#fallbacks.clear();
    this.#fallbacks.set(trimmed, info);
    return info;
  }

  #fromState(pullspec: string, data: ReleaseData): ReleaseInfo {
    const stream = data['image-references'];
    const nodeImages = stream
      ? {
          nodeImages: asStateError(() => nodeImagesFromImageStream(stream, describeObject(stream))),
        }
      : {};
    const cm = data.bootimages as ConfigMap | undefined;
    if (!cm) {
      // Node images without boot images: the boot images still come from the embedded catalog.
      return Object.freeze({
        ...tagVersion(pullspec),
        ...this.#embeddedPart(pullspec),
        ...nodeImages,
      });
    }
    const parsed = asStateError(() => parseBootImagesConfigMap(cm, describeObject(cm)));
    const fromData = parsed.releaseVersion ? parseVersion(parsed.releaseVersion.trim()) : undefined;
    const version = fromData
      ? { version: fromData, versionFrom: 'releaseVersion' as const }
      : tagVersion(pullspec);
    return Object.freeze({
      pullspec,
      ...version,
      source: 'release' as const,
      bootImages: parsed.catalog,
      ...nodeImages,
    });
  }

  #embeddedPart(pullspec: string) {
    this.#embedded ??= this.#loadEmbedded();
    return { pullspec, source: 'embedded' as const, bootImages: this.#embedded };
  }
}

function tagVersion(pullspec: string): Pick<ReleaseInfo, 'version' | 'versionFrom'> {
  const version = versionFromPullspec(pullspec);
  return version ? { version, versionFrom: 'tag' } : { versionFrom: 'none' };
}

function groupByPullspec(objects: readonly KubeObject[]): Map<string, ReleaseData> {
  const releases = new Map<string, ReleaseData>();
  for (const obj of objects) {
    const kind = releaseDataKind(obj);
    if (!kind) continue;
    const pullspec = obj.metadata?.annotations?.[ANNOTATIONS.releaseImage]?.trim();
    if (!pullspec) {
      throw new StateError(
        describeObject(obj),
        `annotation ${ANNOTATIONS.releaseImage} must be the release pullspec`,
      );
    }
    const data = releases.get(pullspec) ?? {};
    const first = data[kind];
    if (first) {
      const firstWhere = sourceOf(first);
      throw new StateError(
        describeObject(obj),
        `second ${kind} data for release ${pullspec}; the first is ${
          firstWhere ? formatSource(firstWhere) : describeObject(first)
        }`,
      );
    }
    data[kind] = obj;
    releases.set(pullspec, data);
  }
  return releases;
}

/** Malformed payload data in a state file is an input error like any other in the state. */
function asStateError<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof CatalogError) throw new StateError(err.where || 'release data', err.problem);
    throw err;
  }
}
