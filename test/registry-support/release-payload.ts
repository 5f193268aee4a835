import { readFileSync } from 'node:fs';
import { RegistryClient } from '../../src/registry/client.js';
import { OCI_INDEX } from '../../src/registry/manifest.js';
import {
  buildImage,
  buildIndex,
  gzip,
  incompressible,
  pushImage,
  sha256,
  tar,
  type BuiltImage,
  type TarFile,
} from './images.js';

/**
 * A synthetic but realistic OpenShift release payload, built from the real upstream fixtures and
 * pushed into a test registry:
 *
 * - `image-references`: the 183 tag names of 4.12.0 (test/fixtures/upstream/oc-mirror), without
 *   4.12's `rhel-coreos-8[-extensions]`, plus both dual-stream node OS tags (`rhel-coreos`,
 *   `rhel-coreos-extensions`, `rhel-coreos-10`, `rhel-coreos-10-extensions`): 185 components, each
 *   re-pointed at a small real image in `<host>/openshift-release-dev/ocp-v4.0-art-dev`;
 * - `release-metadata`: 4.12.0's, with version 5.0.0-ec.2;
 * - `0000_50_installer_coreos-bootimages.yaml`: HyperShift's real dual-stream 5.0 ConfigMap, its
 *   KubeVirt disk references re-pointed at two pushed disk images.
 *
 * The release image has an earlier layer (a binary) and a last layer (gzip tar) whose first
 * entries are the release files, then ~400 KB of operator manifests, so a reader that stops early
 * reads a fraction of it. Components are Docker v2 and OCI manifests sharing base layers (so
 * "shared blobs counted once" is visible in sizes); `cli`, `tools` and `must-gather` are OCI
 * indexes (amd64 + arm64). Also pushed: a multi-arch release (an OCI index of an x86_64 and an
 * aarch64 release image), and a variant whose boot images sit in the earlier layer.
 */

const FIXTURES = new URL('../fixtures/upstream/', import.meta.url);
export const VERSION = '5.0.0-ec.2';
export const RELEASE_REPO = 'openshift-release-dev/ocp-release';
export const SPLIT_REPO = 'openshift-release-dev/ocp-release-split';
export const COMPONENT_REPO = 'openshift-release-dev/ocp-v4.0-art-dev';
export const INDEX_TAGS = ['cli', 'must-gather', 'tools'];
export const NODE_TAGS = {
  'rhel-coreos': 'rhel-9',
  'rhel-coreos-extensions': 'rhel-9',
  'rhel-coreos-10': 'rhel-10',
  'rhel-coreos-10-extensions': 'rhel-10',
} as const;

const KUBEVIRT_9 = {
  digestRef:
    'quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:833cbd9ad76a1dfae732741380fbca39220e9b123123995cc93ba0702a497d65',
  tagRef: 'quay.io/openshift-release-dev/ocp-v4.0-art-dev:rhel-9.8-coreos-kubevirt',
  tag: 'rhel-9.8-coreos-kubevirt',
};
const KUBEVIRT_10 = {
  digestRef:
    'quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:843e75c16c01218cae95c74a879934a1f3ad80a2149963510a51b1f45c712c56',
  tagRef: 'quay.io/openshift-release-dev/ocp-v4.0-art-dev:rhel-10.2-coreos-kubevirt',
  tag: 'rhel-10.2-coreos-kubevirt',
};

export interface SyntheticComponent {
  tag: string;
  /** `<host>/openshift-release-dev/ocp-v4.0-art-dev@<digest>` */
  source: string;
  digest: string;
  mediaType: string;
  /** `rhel-9`/`rhel-10` for node OS tags. */
  stream?: string;
  /** Manifest + config + layers (for an index: the index plus its amd64 child). */
  size: number;
  layers: { digest: string; size: number }[];
  /** For index components: the size counted for each architecture. */
  archSizes?: Record<
    'x86_64' | 'aarch64',
    { size: number; layers: { digest: string; size: number }[] }
  >;
}

export interface ReleaseImage {
  pullspec: string;
  digest: string;
  mediaType: string;
  manifestSize: number;
  configSize: number;
  layers: { digest: string; size: number }[];
}

export interface SyntheticRelease {
  host: string;
  version: string;
  /** `<host>/openshift-release-dev/ocp-release:5.0.0-ec.2-x86_64` (a Docker v2 manifest). */
  release: ReleaseImage;
  /** `…:5.0.0-ec.2-multi`, an OCI index, with its two children. */
  multi: {
    pullspec: string;
    digest: string;
    /** Bytes of the index manifest. */
    manifestSize: number;
    children: Record<'x86_64' | 'aarch64', ReleaseImage>;
  };
  /** `<host>/openshift-release-dev/ocp-release-split:5.0.0-ec.2-x86_64`: boot images in the earlier layer. */
  split: ReleaseImage;
  components: SyntheticComponent[];
  kubevirt: Record<
    'rhel-9' | 'rhel-10',
    {
      digestRef: string;
      tagRef: string;
      digest: string;
      mediaType: string;
      /** Manifest + config + layers. */
      size: number;
      layers: { digest: string; size: number }[];
    }
  >;
  imageReferences: { spec: { tags: { name: string; from: { name: string } }[] } } & Record<
    string,
    unknown
  >;
  releaseMetadata: Record<string, unknown>;
  bootImagesYaml: string;
  /** Sizes of every blob pushed to the component repository, by digest. */
  blobSizes: Map<string, number>;
}

function layer(files: TarFile[]): Buffer {
  return gzip(tar(files));
}

function blob(seed: number, size: number, path: string): Buffer {
  return layer([{ path, contents: incompressible(size, seed) }]);
}

interface PlannedComponent {
  tag: string;
  stream?: string;
  annotations: Record<string, string>;
  image?: BuiltImage;
  index?: {
    bytes: Buffer;
    mediaType: string;
    digest: string;
    amd64: BuiltImage;
    arm64: BuiltImage;
  };
}

/** Builds every component and KubeVirt disk image (no network). */
export function buildReleasePayload(): {
  components: PlannedComponent[];
  kubevirt: { stream: 'rhel-9' | 'rhel-10'; tag: string; image: BuiltImage }[];
} {
  const base = blob(11, 24_000, 'usr/lib/base.bin');
  const baseArm = blob(12, 24_500, 'usr/lib/base.bin');
  const mids = [0, 1, 2, 3, 4, 5].map((k) => blob(100 + k, 2_000 + k * 500, `usr/bin/tool-${k}`));
  const os9 = blob(21, 48_000, 'usr/lib/ostree/rhel-9.img');
  const ext9 = blob(22, 8_000, 'extensions/rhel-9.rpm');
  const os10 = blob(31, 52_000, 'usr/lib/ostree/rhel-10.img');
  const ext10 = blob(32, 9_000, 'extensions/rhel-10.rpm');

  const fixture = JSON.parse(
    readFileSync(new URL('oc-mirror/release-4.12.0-image-references.json', FIXTURES), 'utf8'),
  ) as { spec: { tags: { name: string; annotations?: Record<string, string> }[] } };
  const tags = fixture.spec.tags
    .filter((t) => !t.name.startsWith('rhel-coreos-8'))
    .map((t) => ({ tag: t.name, annotations: t.annotations ?? {} }));
  for (const [tag, stream] of Object.entries(NODE_TAGS)) {
    tags.push({
      tag,
      annotations: {
        'io.openshift.build.commit.id': '',
        'io.openshift.build.commit.ref': '',
        'io.openshift.build.source-location': 'https://github.com/openshift/os',
        'io.openshift.os.streamclass': stream,
      },
    });
  }
  tags.sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));

  const components = tags.map(({ tag, annotations }, i): PlannedComponent => {
    const stream = (NODE_TAGS as Record<string, string>)[tag];
    const labels: Record<string, string> = {
      'io.openshift.release.operator': 'true',
      'io.openshift.build.source-location': annotations['io.openshift.build.source-location'] ?? '',
      name: `openshift/ose-${tag}`,
    };
    if (stream !== undefined) {
      labels['io.openshift.os.streamclass'] = stream;
      if (tag.endsWith('-extensions')) labels['io.openshift.os.extensions'] = 'true';
      else labels['containers.bootc'] = '1';
      const layers =
        stream === 'rhel-9'
          ? tag.endsWith('-extensions')
            ? [os9, ext9]
            : [os9]
          : tag.endsWith('-extensions')
            ? [os10, ext10]
            : [os10];
      return { tag, stream, annotations, image: buildImage({ format: 'oci', layers, labels }) };
    }
    const mid = mids[i % mids.length] as Buffer;
    if (INDEX_TAGS.includes(tag)) {
      const amd64 = buildImage({ format: 'oci', layers: [base, mid], labels });
      const arm64 = buildImage({
        format: 'oci',
        layers: [baseArm, mid],
        labels,
        platform: { os: 'linux', architecture: 'arm64' },
      });
      const index = buildIndex('oci', [
        { image: amd64, platform: { os: 'linux', architecture: 'amd64' } },
        { image: arm64, platform: { os: 'linux', architecture: 'arm64' } },
      ]);
      return { tag, annotations, index: { ...index, amd64, arm64 } };
    }
    return {
      tag,
      annotations,
      image: buildImage({ format: i % 3 === 0 ? 'oci' : 'docker', layers: [base, mid], labels }),
    };
  });
  const kubevirt = [
    {
      stream: 'rhel-9' as const,
      tag: KUBEVIRT_9.tag,
      image: buildImage({ format: 'docker', layers: [blob(41, 30_000, 'disk/disk.img')] }),
    },
    {
      stream: 'rhel-10' as const,
      tag: KUBEVIRT_10.tag,
      image: buildImage({ format: 'docker', layers: [blob(42, 31_000, 'disk/disk.img')] }),
    },
  ];
  return { components, kubevirt };
}

function digestOfComponent(c: PlannedComponent): string {
  return c.index ? c.index.digest : (c.image as BuiltImage).digest;
}

function imageSize(image: BuiltImage) {
  const layers = image.layers.map((l) => ({ digest: sha256(l), size: l.length }));
  return {
    size: image.manifest.length + image.config.length + layers.reduce((s, l) => s + l.size, 0),
    layers,
  };
}

async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await fn(item);
      }
    }),
  );
}

/**
 * Pushes the synthetic release into the (plain HTTP) registry at `host` with a client of its own,
 * with the credentials of `authfile` when the registry wants them.
 */
export async function pushReleasePayloadTo(
  host: string,
  options: { referenceHost?: string; authfile?: string } = {},
): Promise<SyntheticRelease> {
  const { authfile, ...push } = options;
  const pusher = new RegistryClient({
    insecureRegistries: [host],
    concurrency: 16,
    ...(authfile ? { authfile } : {}),
  });
  try {
    return await pushReleasePayload(pusher, host, push);
  } finally {
    await pusher.close();
  }
}

/**
 * Builds the payload with references to `referenceHost` (default `host`) and pushes it through
 * `client` to `host`. `referenceHost` lets a proxy sit in front: the payload then names the proxy.
 */
export async function pushReleasePayload(
  client: RegistryClient,
  host: string,
  options: { referenceHost?: string } = {},
): Promise<SyntheticRelease> {
  const refHost = options.referenceHost ?? host;
  const { components, kubevirt } = buildReleasePayload();
  const componentRepo = `${host}/${COMPONENT_REPO}`;
  const blobSizes = new Map<string, number>();

  // Shared blobs first (once), then every manifest with a few uploads in flight.
  const allImages: BuiltImage[] = [];
  for (const c of components) {
    if (c.image) allImages.push(c.image);
    if (c.index) allImages.push(c.index.amd64, c.index.arm64);
  }
  for (const k of kubevirt) allImages.push(k.image);
  const sharedLayers = new Map<string, Buffer>();
  for (const image of allImages) {
    for (const l of image.layers) sharedLayers.set(sha256(l), l);
    blobSizes.set(sha256(image.config), image.config.length);
  }
  for (const [digest, bytes] of sharedLayers) {
    blobSizes.set(digest, bytes.length);
    await client.pushBlob(componentRepo, bytes);
  }
  const pushOne = async (image: BuiltImage, tag?: string) => {
    await client.pushBlob(componentRepo, image.config);
    await client.pushManifest(componentRepo, tag ?? image.digest, image.mediaType, image.manifest);
  };
  await pool(components, 16, async (c) => {
    if (c.image) {
      await pushOne(c.image);
    } else if (c.index) {
      await pushOne(c.index.amd64);
      await pushOne(c.index.arm64);
      await client.pushManifest(componentRepo, c.index.digest, c.index.mediaType, c.index.bytes);
    }
  });
  for (const k of kubevirt) await pushOne(k.image, k.tag);

  // image-references, re-pointed at the pushed components.
  const fixture = JSON.parse(
    readFileSync(new URL('oc-mirror/release-4.12.0-image-references.json', FIXTURES), 'utf8'),
  ) as Record<string, unknown> & { metadata: Record<string, unknown> };
  const imageReferences = {
    kind: 'ImageStream',
    apiVersion: 'image.openshift.io/v1',
    metadata: { ...fixture.metadata, name: VERSION },
    spec: {
      lookupPolicy: { local: false },
      tags: components.map((c) => ({
        name: c.tag,
        annotations: c.annotations,
        from: { kind: 'DockerImage', name: `${refHost}/${COMPONENT_REPO}@${digestOfComponent(c)}` },
        generation: null,
        importPolicy: {},
        referencePolicy: { type: '' },
      })),
    },
  };
  const metadata412 = JSON.parse(
    readFileSync(new URL('oc-mirror/release-4.12.0-release-metadata.json', FIXTURES), 'utf8'),
  ) as Record<string, unknown>;
  const releaseMetadata: Record<string, unknown> = {
    ...metadata412,
    version: VERSION,
    previous: ['4.21.0'],
  };
  const kv = Object.fromEntries(kubevirt.map((k) => [k.stream, k])) as Record<
    'rhel-9' | 'rhel-10',
    (typeof kubevirt)[number]
  >;
  const kubevirtRefs = {
    'rhel-9': {
      digestRef: `${refHost}/${COMPONENT_REPO}@${kv['rhel-9'].image.digest}`,
      tagRef: `${refHost}/${COMPONENT_REPO}:${KUBEVIRT_9.tag}`,
      digest: kv['rhel-9'].image.digest,
      mediaType: kv['rhel-9'].image.mediaType,
      ...imageSize(kv['rhel-9'].image),
    },
    'rhel-10': {
      digestRef: `${refHost}/${COMPONENT_REPO}@${kv['rhel-10'].image.digest}`,
      tagRef: `${refHost}/${COMPONENT_REPO}:${KUBEVIRT_10.tag}`,
      digest: kv['rhel-10'].image.digest,
      mediaType: kv['rhel-10'].image.mediaType,
      ...imageSize(kv['rhel-10'].image),
    },
  };
  const bootImagesYaml = readFileSync(
    new URL('hypershift-fixture-5.0-coreos-bootimages-configmap.yaml', FIXTURES),
    'utf8',
  )
    .replaceAll(KUBEVIRT_9.digestRef, kubevirtRefs['rhel-9'].digestRef)
    .replaceAll(KUBEVIRT_9.tagRef, kubevirtRefs['rhel-9'].tagRef)
    .replaceAll(KUBEVIRT_10.digestRef, kubevirtRefs['rhel-10'].digestRef)
    .replaceAll(KUBEVIRT_10.tagRef, kubevirtRefs['rhel-10'].tagRef);

  const releaseFiles = (meta: Record<string, unknown>, withBootImages: boolean): TarFile[] => [
    { path: 'release-manifests/', contents: '', type: '5' },
    {
      path: 'release-manifests/image-references',
      contents: JSON.stringify(imageReferences, null, 2),
    },
    { path: 'release-manifests/release-metadata', contents: JSON.stringify(meta, null, 2) },
    {
      path: 'release-manifests/0000_03_config-operator_01_proxy.crd.yaml',
      contents: 'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n',
    },
    ...(withBootImages
      ? [
          {
            path: 'release-manifests/0000_50_installer_coreos-bootimages.yaml',
            contents: bootImagesYaml,
          },
        ]
      : []),
    {
      path: 'release-manifests/0000_90_cluster-version-operator_99_manifests.bin',
      contents: incompressible(400_000, 77),
    },
  ];
  const earlierFiles = (arch: string): TarFile[] => [
    { path: 'usr/bin/', contents: '', type: '5' },
    {
      path: 'usr/bin/cluster-version-operator',
      contents: incompressible(64_000, arch === 'arm64' ? 91 : 90),
    },
  ];
  const releaseRepo = `${host}/${RELEASE_REPO}`;
  const pushRelease = async (
    repo: string,
    tag: string | undefined,
    layers: Buffer[],
    arch: 'amd64' | 'arm64',
  ): Promise<ReleaseImage> => {
    const image = buildImage({
      format: 'docker',
      layers,
      platform: { os: 'linux', architecture: arch },
      labels: { 'io.openshift.release': VERSION },
    });
    await pushImage(client, repo, tag, image);
    return {
      pullspec: `${refHost}/${repo.slice(host.length + 1)}${tag ? `:${tag}` : `@${image.digest}`}`,
      digest: image.digest,
      mediaType: image.mediaType,
      manifestSize: image.manifest.length,
      configSize: image.config.length,
      layers: layers.map((l) => ({ digest: sha256(l), size: l.length })),
    };
  };

  const release = await pushRelease(
    releaseRepo,
    `${VERSION}-x86_64`,
    [layer(earlierFiles('amd64')), layer(releaseFiles(releaseMetadata, true))],
    'amd64',
  );
  const split = await pushRelease(
    `${host}/${SPLIT_REPO}`,
    `${VERSION}-x86_64`,
    [
      layer([
        ...earlierFiles('amd64'),
        { path: 'release-manifests/', contents: '', type: '5' },
        {
          path: 'release-manifests/0000_50_installer_coreos-bootimages.yaml',
          contents: bootImagesYaml,
        },
      ]),
      layer(releaseFiles(releaseMetadata, false)),
    ],
    'amd64',
  );
  const multiMetadata = {
    ...releaseMetadata,
    metadata: {
      ...(releaseMetadata.metadata as Record<string, unknown>),
      'release.openshift.io/architecture': 'multi',
    },
  };
  const children = {
    x86_64: await pushRelease(
      releaseRepo,
      undefined,
      [layer(earlierFiles('amd64')), layer(releaseFiles(multiMetadata, true))],
      'amd64',
    ),
    aarch64: await pushRelease(
      releaseRepo,
      undefined,
      [layer(earlierFiles('arm64')), layer(releaseFiles(multiMetadata, true))],
      'arm64',
    ),
  };
  const indexFinal = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: (['x86_64', 'aarch64'] as const).map((arch) => ({
        mediaType: children[arch].mediaType,
        digest: children[arch].digest,
        size: children[arch].manifestSize,
        platform: { os: 'linux', architecture: arch === 'x86_64' ? 'amd64' : 'arm64' },
      })),
    }),
  );
  await client.pushManifest(releaseRepo, `${VERSION}-multi`, OCI_INDEX, indexFinal);

  const synthetic: SyntheticComponent[] = components.map((c) => {
    const digest = digestOfComponent(c);
    const out: SyntheticComponent = {
      tag: c.tag,
      source: `${refHost}/${COMPONENT_REPO}@${digest}`,
      digest,
      mediaType: c.index ? c.index.mediaType : (c.image as BuiltImage).mediaType,
      size: 0,
      layers: [],
    };
    if (c.stream !== undefined) out.stream = c.stream;
    if (c.image) Object.assign(out, imageSize(c.image));
    const index = c.index;
    if (index) {
      const perArch = (child: BuiltImage) => {
        const s = imageSize(child);
        return { size: index.bytes.length + s.size, layers: s.layers };
      };
      out.archSizes = { x86_64: perArch(index.amd64), aarch64: perArch(index.arm64) };
      Object.assign(out, out.archSizes.x86_64);
    }
    return out;
  });
  return {
    host: refHost,
    version: VERSION,
    release,
    multi: {
      pullspec: `${refHost}/${RELEASE_REPO}:${VERSION}-multi`,
      digest: sha256(indexFinal),
      manifestSize: indexFinal.length,
      children,
    },
    split,
    components: synthetic,
    kubevirt: kubevirtRefs,
    imageReferences: imageReferences as SyntheticRelease['imageReferences'],
    releaseMetadata,
    bootImagesYaml,
    blobSizes,
  };
}
