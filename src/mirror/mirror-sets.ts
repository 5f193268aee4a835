// ImageDigestMirrorSet / ImageTagMirrorSet (config.openshift.io/v1) by oc-mirror v2's rules
// (internal/pkg/clusterresources, generateImageMirrors + IDMS_ITMSGenerator):
// - Cincinnati graph and operator catalog images get no entry (UpdateService / CatalogSource
//   cover them).
// - IDMS: an origin with a digest (digest-only, or tag+digest since OCPBUGS-85331), and the OCP
//   release image even by tag (CLID-205, so the installer finds the release image).
// - ITMS: an origin with a tag (tag-only or tag+digest). So a release image by tag is in both.
// - Scope: with --max-nested-paths every entry is repository scope. Otherwise, when the
//   destination path ends with the source path (a plain string suffix, not segment-aware, as
//   upstream), both sides are cut to their parent namespace (a one-segment path becomes the bare
//   registry); else both are full repository names. Release content never keeps its source path
//   (it goes to <to>/openshift/release), so releases always get repository scope.
// - One object per category, named `idms-<category>-0`: release (release image, release
//   content, graph), operator (bundles, catalogs, related images), generic (everything else).
//   Within a category, one entry per source with de-duplicated mirrors.
// Upstream fills entries from Go maps, so its entry and object order changes between runs; here
// entries are sorted by source, mirrors sorted, objects in category order (release, operator,
// generic), and there are no createdAt/createdBy annotations and no status, so the same input
// always gives the same bytes.

import { stringify } from 'yaml';
import { PlanError } from './errors.js';
import { compareText, parseRef, type ImageRef } from './ref.js';
import type { MirrorSourcePolicy, PlannedImage } from './types.js';

export type MirrorImageType =
  | 'ocpRelease'
  | 'ocpReleaseContent'
  | 'cincinnatiGraph'
  | 'operatorCatalog'
  | 'operatorBundle'
  | 'operatorRelatedImage'
  | 'generic';

/** One mirrored image as oc-mirror's CopyImageSchema sees it (origin = original reference). */
export interface MirrorSetImage {
  origin: string;
  destination: string;
  type: MirrorImageType;
}

export interface MirrorSetOptions {
  /** Repository scope for every entry (oc-mirror does this whenever --max-nested-paths > 0). */
  forceRepositoryScope?: boolean;
  mirrorSourcePolicy?: MirrorSourcePolicy;
}

export interface ImageMirrors {
  mirrorSourcePolicy?: MirrorSourcePolicy;
  mirrors: string[];
  source: string;
}

export interface ImageDigestMirrorSet {
  apiVersion: 'config.openshift.io/v1';
  kind: 'ImageDigestMirrorSet';
  metadata: { name: string };
  spec: { imageDigestMirrors: ImageMirrors[] };
}

export interface ImageTagMirrorSet {
  apiVersion: 'config.openshift.io/v1';
  kind: 'ImageTagMirrorSet';
  metadata: { name: string };
  spec: { imageTagMirrors: ImageMirrors[] };
}

export interface MirrorSets {
  idms: ImageDigestMirrorSet[];
  itms: ImageTagMirrorSet[];
}

const CATEGORIES = ['release', 'operator', 'generic'] as const;
type Category = (typeof CATEGORIES)[number];

function categoryOf(type: MirrorImageType): Category {
  switch (type) {
    case 'ocpRelease':
    case 'ocpReleaseContent':
    case 'cincinnatiGraph':
      return 'release';
    case 'operatorBundle':
    case 'operatorCatalog':
    case 'operatorRelatedImage':
      return 'operator';
    case 'generic':
      return 'generic';
  }
}

type Mode = 'digest' | 'tag';

export function mirrorSets(
  images: readonly MirrorSetImage[],
  options: MirrorSetOptions = {},
): MirrorSets {
  const byDigest = group(images, 'digest', options);
  const byTag = group(images, 'tag', options);
  return {
    idms: byDigest.map(({ category, entries }) => ({
      apiVersion: 'config.openshift.io/v1',
      kind: 'ImageDigestMirrorSet',
      metadata: { name: `idms-${category}-0` },
      spec: { imageDigestMirrors: entries },
    })),
    itms: byTag.map(({ category, entries }) => ({
      apiVersion: 'config.openshift.io/v1',
      kind: 'ImageTagMirrorSet',
      metadata: { name: `itms-${category}-0` },
      spec: { imageTagMirrors: entries },
    })),
  };
}

function group(images: readonly MirrorSetImage[], mode: Mode, options: MirrorSetOptions) {
  const categories = new Map<Category, Map<string, Set<string>>>();
  for (const image of images) {
    if (image.type === 'cincinnatiGraph' || image.type === 'operatorCatalog') continue;
    if (!image.origin) {
      throw new PlanError(`no original reference for the copy to ${image.destination}`);
    }
    const src = parseRef(image.origin, 'origin');
    const dst = parseRef(image.destination, 'destination');
    const add =
      mode === 'tag'
        ? src.tag !== undefined
        : src.digest !== undefined || image.type === 'ocpRelease';
    if (!add) continue;
    const [source, mirror] = options.forceRepositoryScope
      ? [src.name, dst.name]
      : attemptNamespaceScope(src, dst);
    const category = categoryOf(image.type);
    let sources = categories.get(category);
    if (!sources) categories.set(category, (sources = new Map()));
    let mirrors = sources.get(source);
    if (!mirrors) sources.set(source, (mirrors = new Set()));
    mirrors.add(mirror);
  }
  return CATEGORIES.filter((c) => categories.has(c)).map((category) => ({
    category,
    entries: [...(categories.get(category) ?? new Map<string, Set<string>>())]
      .sort(([a], [b]) => compareText(a, b))
      .map(([source, mirrors]): ImageMirrors => {
        const entry: ImageMirrors = { mirrors: [...mirrors].sort(compareText), source };
        return options.mirrorSourcePolicy
          ? { mirrorSourcePolicy: options.mirrorSourcePolicy, ...entry }
          : entry;
      }),
  }));
}

function attemptNamespaceScope(src: ImageRef, dst: ImageRef): [string, string] {
  return dst.path.endsWith(src.path)
    ? [namespaceScope(src), namespaceScope(dst)]
    : [src.name, dst.name];
}

function namespaceScope(ref: ImageRef): string {
  const ns = ref.path.split('/').slice(0, -1).join('/');
  return ns ? `${ref.domain}/${ns}` : ref.domain;
}

/** The planner's images as oc-mirror types them: the payload, and release content for the rest. */
export function mirrorSetImages(images: readonly PlannedImage[]): MirrorSetImage[] {
  return images.map((image) => ({
    origin: image.source,
    destination: image.destination,
    type: image.kind === 'release' ? 'ocpRelease' : 'ocpReleaseContent',
  }));
}

/**
 * Multi-document YAML as oc-mirror's writeMirrorSet writes it: `---\n` before each object, keys
 * in Go's order (the objects are built in it), sequences not indented. Empty when no object.
 */
export function renderMirrorSets(docs: readonly (ImageDigestMirrorSet | ImageTagMirrorSet)[]) {
  return docs.map((doc) => `---\n${stringify(doc, { indentSeq: false, lineWidth: 0 })}`).join('');
}
