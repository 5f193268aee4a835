// A small dual-stream release built from real images, for the mirror tests: every component is an
// image of its own (one tiny layer naming it), so every planned digest is the digest of something
// that can be pushed into the loopback registry.

import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { ConfigMap } from '../../src/k8s/objects.js';
import { buildPlan, componentsFromImageReferences } from '../../src/mirror/index.js';
import type { PlanFiles, PlannedImage, ReleaseData } from '../../src/mirror/index.js';
import type { RegistryClient } from '../../src/registry/client.js';
import { buildImage, gzip, pushImage, tar, type BuiltImage } from '../registry-support/images.js';

export const ART = 'quay.io/openshift-release-dev/ocp-v4.0-art-dev';
export const RELEASE_PULLSPEC = 'quay.io/openshift-release-dev/ocp-release:5.0.0-ec.2-x86_64';
export const NODE_TAGS = [
  'rhel-coreos',
  'rhel-coreos-extensions',
  'rhel-coreos-10',
  'rhel-coreos-10-extensions',
];
const SHARED_TAGS = ['cli', 'machine-config-operator', 'pod', 'tools'];

export function fixtureText(name: string): string {
  return readFileSync(new URL(`../fixtures/upstream/${name}`, import.meta.url), 'utf8');
}

export interface SmallRelease {
  data: ReleaseData;
  /** image-references ImageStream (also usable as release data in a state directory). */
  imageReferences: { kind: string; apiVersion: string; spec: { tags: unknown[] } };
  /** Every image of the release (the release image included), by manifest digest. */
  images: Map<string, BuiltImage>;
  /** The node image digests by image-references tag. */
  digests: Record<string, string>;
}

function imageFor(name: string): BuiltImage {
  const layer = gzip(tar([{ path: `etc/${name}`, contents: `${name}\n` }]));
  return buildImage({ format: 'oci', layers: [layer], labels: { name } });
}

/** The 5.0.0-ec.2 dual-stream release, small: 4 shared components and the 4 node OS tags. */
export function smallRelease(): SmallRelease {
  const images = new Map<string, BuiltImage>();
  const digests: Record<string, string> = {};
  const tags = [...SHARED_TAGS, ...NODE_TAGS].map((name) => {
    const image = imageFor(name);
    images.set(image.digest, image);
    digests[name] = image.digest;
    return { name, from: { kind: 'DockerImage', name: `${ART}@${image.digest}` } };
  });
  const imageReferences = {
    kind: 'ImageStream',
    apiVersion: 'image.openshift.io/v1',
    spec: { tags },
  };
  const releaseImage = imageFor('release 5.0.0-ec.2');
  images.set(releaseImage.digest, releaseImage);
  const data: ReleaseData = {
    pullspec: RELEASE_PULLSPEC,
    digest: releaseImage.digest,
    mediaType: releaseImage.mediaType,
    version: '5.0.0-ec.2',
    arch: 'x86_64',
    imageReferences,
    bootImages: parseYaml(
      fixtureText('hypershift-fixture-5.0-coreos-bootimages-configmap.yaml'),
    ) as ConfigMap,
    components: componentsFromImageReferences(imageReferences).map((c) => {
      const image = images.get(c.digest);
      return {
        ...c,
        mediaType: image?.mediaType,
        size: (image?.manifest.length ?? 0) + (image?.config.length ?? 0),
      };
    }),
  };
  return { data, imageReferences, images, digests };
}

export function planFor(release: SmallRelease, to: string): PlanFiles {
  return buildPlan([release.data], { to, kubevirt: false, maxNestedPaths: 0 });
}

export function plannedImages(files: PlanFiles): PlannedImage[] {
  return (JSON.parse(files.get('images.json') ?? '{}') as { images: PlannedImage[] }).images;
}

/** Pushes each planned image (by its destination tag) whose destination passes `filter`. */
export async function pushPlanned(
  client: RegistryClient,
  release: SmallRelease,
  files: PlanFiles,
  filter: (image: PlannedImage) => boolean = () => true,
): Promise<PlannedImage[]> {
  const pushed: PlannedImage[] = [];
  for (const planned of plannedImages(files)) {
    if (!filter(planned)) continue;
    const image = release.images.get(planned.digest);
    if (!image) throw new Error(`no built image for ${planned.destination}`);
    const colon = planned.destination.lastIndexOf(':');
    await pushImage(
      client,
      planned.destination.slice(0, colon),
      planned.destination.slice(colon + 1),
      image,
    );
    pushed.push(planned);
  }
  return pushed;
}
