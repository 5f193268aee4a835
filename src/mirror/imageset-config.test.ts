import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { ConfigMap } from '../k8s/objects.js';
import { planImages } from './images.js';
import { imageSetConfigFiles, imageSetConfiguration } from './imageset-config.js';
import type { PlanOptions, ReleaseData } from './types.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../test/fixtures/upstream/${name}`, import.meta.url), 'utf8');

/**
 * The field names of oc-mirror's v2alpha1 ImageSetConfiguration (type_config.go,
 * type_platform.go, type_config_include.go at the research snapshot; see mirror-anchors §1.1).
 * The loader rejects unknown fields, so a config may use only these. `[x]` is a list of x.
 */
type Shape = true | { [key: string]: Shape } | [Shape];
const PLATFORM_FILTER: Shape = [{ os: true, architecture: true }];
const ISC: Shape = {
  kind: true,
  apiVersion: true,
  archiveSize: true,
  mirror: {
    platform: {
      channels: [
        {
          name: true,
          type: true,
          minVersion: true,
          maxVersion: true,
          shortestPath: true,
          full: true,
        },
      ],
      graph: true,
      architectures: [true],
      platforms: PLATFORM_FILTER,
      release: true,
      kubeVirtContainer: true,
    },
    operators: [
      {
        catalog: true,
        targetCatalog: true,
        targetTag: true,
        full: true,
        skipDependencies: true,
        targetCatalogSourceTemplate: true,
        platforms: PLATFORM_FILTER,
        packages: [
          {
            name: true,
            defaultChannel: true,
            minVersion: true,
            maxVersion: true,
            channels: [{ name: true, minVersion: true, maxVersion: true }],
          },
        ],
      },
    ],
    additionalImages: [
      { name: true, targetRepo: true, targetTag: true, platforms: PLATFORM_FILTER },
    ],
    helm: {
      repositories: [
        { name: true, url: true, charts: [{ name: true, version: true, imagePaths: [true] }] },
      ],
      local: [{ name: true, path: true, imagePaths: [true] }],
    },
    blockedImages: [{ name: true }],
    samples: [{ name: true }],
  },
};

/** Paths in `value` that the shape does not allow (empty when it fits). */
function unknownFields(value: unknown, shape: Shape, at = ''): string[] {
  if (shape === true) {
    return typeof value === 'object' && value !== null ? [`${at} (expected a scalar)`] : [];
  }
  if (Array.isArray(shape)) {
    if (!Array.isArray(value)) return [`${at} (expected a list)`];
    return value.flatMap((item: unknown, i) => unknownFields(item, shape[0], `${at}[${i}]`));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return [`${at} (expected an object)`];
  }
  return Object.entries(value).flatMap(([key, child]) => {
    const sub = Object.hasOwn(shape, key) ? shape[key] : undefined;
    return sub === undefined ? [`${at}.${key}`] : unknownFields(child, sub, `${at}.${key}`);
  });
}

const art = 'quay.io/openshift-release-dev/ocp-v4.0-art-dev@sha256:';
const hex = (c: string) => c.repeat(64);
const bootImages = parseYaml(
  fixture('hypershift-fixture-5.0-coreos-bootimages-configmap.yaml'),
) as ConfigMap;

function release(arch = 'x86_64', pullspec?: string): ReleaseData {
  const tag = `5.0.0-ec.2-${arch}`;
  return {
    pullspec: pullspec ?? `quay.io/openshift-release-dev/ocp-release:${tag}`,
    digest: `sha256:${hex(arch === 'multi' ? 'e' : 'f')}`,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    version: '5.0.0-ec.2',
    arch,
    imageReferences: {},
    bootImages,
    components: [
      { tag: 'tools', source: `${art}${hex('1')}`, digest: `sha256:${hex('1')}` },
      { tag: 'rhel-coreos', source: `${art}${hex('2')}`, digest: `sha256:${hex('2')}` },
      { tag: 'rhel-coreos-10', source: `${art}${hex('3')}`, digest: `sha256:${hex('3')}` },
    ],
  };
}

const options = (extra: Partial<PlanOptions> = {}): PlanOptions => ({
  to: 'reg.example.com/mirror',
  kubevirt: true,
  maxNestedPaths: 0,
  ...extra,
});

function configsOf(releases: ReleaseData[], extra: Partial<PlanOptions> = {}) {
  const files = imageSetConfigFiles(planImages(releases, options(extra)));
  return new Map([...files].map(([name, text]) => [name, parseYaml(text) as unknown]));
}

describe('ImageSetConfiguration shape', () => {
  it('the field list accepts the upstream example configs (so it is not too narrow)', () => {
    for (const name of [
      'isc-docs-image-set-config.yaml',
      'isc-e2e-config-72972-platform-arch-graph.yaml',
      'isc-e2e-config-83582-blockedimages.yaml',
    ]) {
      const doc = parseYaml(fixture(`oc-mirror/${name}`)) as Record<string, unknown>;
      expect(unknownFields(doc, ISC), name).toEqual([]);
      expect(doc.kind).toBe('ImageSetConfiguration');
      expect(doc.apiVersion).toBe('mirror.openshift.io/v2alpha1');
    }
    expect(unknownFields({ mirror: { platform: { channel: [] } } }, ISC)).toEqual([
      '.mirror.platform.channel',
    ]);
  });

  it('writes only upstream fields, with the upstream kind and apiVersion', () => {
    for (const extra of [
      {},
      { streams: ['rhel-9'] },
      { kubevirt: false },
      { architectures: ['amd64', 's390x'] },
    ]) {
      for (const [name, doc] of configsOf([release(), release('multi')], extra)) {
        expect(unknownFields(doc, ISC), name).toEqual([]);
        expect(doc).toMatchObject({
          kind: 'ImageSetConfiguration',
          apiVersion: 'mirror.openshift.io/v2alpha1',
        });
      }
    }
  });
});

describe('imageSetConfiguration', () => {
  it("pins one release by digest, with both streams' KubeVirt disks placed like mapping.txt", () => {
    const configs = configsOf([release()]);
    expect([...configs.keys()]).toEqual(['imageset-config.yaml']);
    expect(configs.get('imageset-config.yaml')).toEqual({
      kind: 'ImageSetConfiguration',
      apiVersion: 'mirror.openshift.io/v2alpha1',
      mirror: {
        platform: { release: `quay.io/openshift-release-dev/ocp-release@sha256:${hex('f')}` },
        additionalImages: [
          {
            name: `${art}833cbd9ad76a1dfae732741380fbca39220e9b123123995cc93ba0702a497d65`,
            targetRepo: 'openshift/release',
            targetTag: '5.0.0-ec.2-x86_64-kube-virt-container',
          },
          {
            name: `${art}843e75c16c01218cae95c74a879934a1f3ad80a2149963510a51b1f45c712c56`,
            targetRepo: 'openshift/release',
            targetTag: '5.0.0-ec.2-x86_64-kube-virt-container-rhel-10',
          },
        ],
      },
    });
  });

  it('a multi payload lists its platforms (Go architecture names)', () => {
    const config = configsOf([release('multi')], { architectures: ['x86_64', 'arm64'] }).get(
      'imageset-config.yaml',
    );
    expect(config).toMatchObject({
      mirror: {
        platform: {
          platforms: [
            { os: 'linux', architecture: 'amd64' },
            { os: 'linux', architecture: 'arm64' },
          ],
        },
      },
    });
  });

  it('blocks by tag only when the digest is also planned under another tag', () => {
    const data = release();
    const shared = data.components[0];
    if (!shared) throw new Error('fixture');
    // rhel-coreos-10 has the same digest as tools here.
    data.components[2] = {
      ...data.components[2],
      tag: 'rhel-coreos-10',
      source: shared.source,
      digest: shared.digest,
    };
    const plan = planImages([data], options({ streams: ['rhel-9'] }));
    const config = imageSetConfiguration(plan.releases[0] ?? fail(), plan.images, plan.excluded);
    expect(config.mirror.blockedImages).toEqual([
      { name: ':5\\.0\\.0-ec\\.2-x86_64-rhel-coreos-10$' },
    ]);
  });

  it('the comment header names the release and how to run oc-mirror', () => {
    const text = imageSetConfigFiles(planImages([release()], options({ maxNestedPaths: 3 }))).get(
      'imageset-config.yaml',
    );
    expect(text).toMatch(/^# oc-mirror v2 ImageSetConfiguration written by streamguard for quay/);
    expect(text).toContain(
      '# Run: oc-mirror --v2 -c <this file> --workspace file://<dir> docker://reg.example.com/mirror --max-nested-paths 3\n',
    );
  });
});

function fail(): never {
  throw new Error('missing');
}
