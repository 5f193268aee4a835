// The planner end to end on realistic data: the real OCP 4.12.0 image-references (183 tags)
// plus the four node OS tags of a dual-stream payload (the MCO's names, made-up digests), and
// the real dual-stream coreos-bootimages ConfigMap of a 5.0.0-ec.2 payload.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { ConfigMap } from '../k8s/objects.js';
import { crdValidator } from '../k8s/crd-schema.js';
import { PlanError } from './errors.js';
import { componentsFromImageReferences, planImages } from './images.js';
import { buildPlan } from './plan.js';
import { parseRef } from './ref.js';
import { streamSizes } from './summary.js';
import type { ComponentImage, PlanImage, PlanOptions, ReleaseData } from './types.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../test/fixtures/upstream/${name}`, import.meta.url), 'utf8');

const ART = 'quay.io/openshift-release-dev/ocp-v4.0-art-dev';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const sha = (seed: string) => `sha256:${createHash('sha256').update(seed).digest('hex')}`;

// Sizes chosen so every total is known by hand: each manifest+config is 500 bytes; every
// shared component has one 1,000-byte layer of its own plus the 100,000-byte base layer; the
// node images share layers across streams as described below.
const MANIFEST = 500;
const layer = (name: string, size: number) => ({ digest: sha(`layer ${name}`), size });
const BASE = layer('base', 100_000);
const NODE_LAYERS: Record<string, { digest: string; size: number }[]> = {
  'rhel-coreos': [layer('rhel9-os', 40_000), layer('ocp-node', 5_000)],
  'rhel-coreos-extensions': [layer('rhel9-ext', 8_000)],
  // The OCP node layer is the same in both streams; the rhel-10 extensions also carry the base.
  'rhel-coreos-10': [layer('rhel10-os', 60_000), layer('ocp-node', 5_000)],
  'rhel-coreos-10-extensions': [layer('rhel10-ext', 9_000), BASE],
  // 4.12.0's own node tags (stream rhel-8 by the MCO's naming).
  'rhel-coreos-8': [layer('rhel8-os', 7_000)],
  'rhel-coreos-8-extensions': [layer('rhel8-ext', 3_000)],
};
const SHARED_COMPONENTS = 183 - 2;
const SHARED_BYTES = BASE.size + SHARED_COMPONENTS * (MANIFEST + 1_000);

const KUBEVIRT_RHEL9 = `${ART}@sha256:833cbd9ad76a1dfae732741380fbca39220e9b123123995cc93ba0702a497d65`;
const KUBEVIRT_RHEL10 = `${ART}@sha256:843e75c16c01218cae95c74a879934a1f3ad80a2149963510a51b1f45c712c56`;

const bootImages = parseYaml(
  fixture('hypershift-fixture-5.0-coreos-bootimages-configmap.yaml'),
) as ConfigMap;

interface ReleaseOverrides {
  pullspec?: string;
  version?: string;
  digest?: string;
  arch?: string;
  /** Replace the digest of these tags. */
  retag?: Record<string, string>;
  bootImages?: ConfigMap | undefined;
}

function imageReferences(retag: Record<string, string> = {}) {
  const stream = JSON.parse(fixture('oc-mirror/release-4.12.0-image-references.json')) as {
    spec: { tags: { name: string; from: { kind: string; name: string } }[] };
  };
  for (const name of [
    'rhel-coreos',
    'rhel-coreos-extensions',
    'rhel-coreos-10',
    'rhel-coreos-10-extensions',
  ]) {
    stream.spec.tags.push({ name, from: { kind: 'DockerImage', name: `${ART}@${sha(name)}` } });
  }
  for (const tag of stream.spec.tags) {
    const digest = retag[tag.name];
    if (digest) tag.from.name = `${ART}@${digest}`;
  }
  return stream;
}

function withSizes(component: ComponentImage): ComponentImage {
  const layers = NODE_LAYERS[component.tag] ?? [BASE, layer(`own ${component.digest}`, 1_000)];
  const size = MANIFEST + layers.reduce((sum, l) => sum + l.size, 0);
  return { ...component, mediaType: OCI_MANIFEST, size, layers };
}

function release(overrides: ReleaseOverrides = {}): ReleaseData {
  const refs = imageReferences(overrides.retag);
  const data: ReleaseData = {
    pullspec: overrides.pullspec ?? 'quay.io/openshift-release-dev/ocp-release:5.0.0-ec.2-x86_64',
    digest: overrides.digest ?? sha('release 5.0.0-ec.2'),
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    version: overrides.version ?? '5.0.0-ec.2',
    arch: overrides.arch ?? 'x86_64',
    imageReferences: refs,
    releaseMetadata: JSON.parse(fixture('oc-mirror/release-4.12.0-release-metadata.json')),
    components: componentsFromImageReferences(refs).map(withSizes),
  };
  const boot = 'bootImages' in overrides ? overrides.bootImages : bootImages;
  if (boot) data.bootImages = boot;
  return data;
}

const TO = 'mirror.example.com:5000/ocp';
const options = (extra: Partial<PlanOptions> = {}): PlanOptions => ({
  to: TO,
  kubevirt: true,
  maxNestedPaths: 0,
  ...extra,
});

function imagesOf(files: Map<string, string>): PlanImage[] {
  return (JSON.parse(files.get('images.json') ?? '') as { images: PlanImage[] }).images;
}

interface MirrorEntry {
  source: string;
  mirrors: string[];
  mirrorSourcePolicy?: string;
}
function entriesOf(text: string | undefined, key: 'imageDigestMirrors' | 'imageTagMirrors') {
  if (text === undefined) return [];
  return parseAllDocuments(text).flatMap(
    (d) => (d.toJS() as { spec: Record<string, MirrorEntry[]> }).spec[key] ?? [],
  );
}

/** The real mirror semantics: pulling `source` through the entry lands on `destination`. */
function covered(image: PlanImage, entries: MirrorEntry[]): boolean {
  const src = parseRef(image.source).name;
  const dst = parseRef(image.destination).name;
  return entries.some((e) => {
    const suffix =
      src === e.source ? '' : src.startsWith(`${e.source}/`) ? src.slice(e.source.length) : null;
    return suffix !== null && e.mirrors.some((m) => dst === `${m}${suffix}`);
  });
}

const validateIdms = crdValidator(
  parseYaml(fixture('openshift-api-imagedigestmirrorsets.crd.yaml')),
  'v1',
);
const validateItms = crdValidator(
  parseYaml(fixture('openshift-api-imagetagmirrorsets.crd.yaml')),
  'v1',
);

describe('buildPlan on a realistic dual-stream payload', () => {
  const files = buildPlan([release()], options());
  const images = imagesOf(files);

  it('writes the plan files', () => {
    expect([...files.keys()].sort()).toEqual([
      'idms.yaml',
      'images.json',
      'imageset-config.yaml',
      'itms.yaml',
      'mapping.txt',
      'summary.md',
    ]);
  });

  it('plans the release image, all 187 tags and both KubeVirt disks', () => {
    expect(images).toHaveLength(1 + 187 + 2);
    expect(images.filter((i) => i.kind === 'component')).toHaveLength(187);
    const byStream = groupBy(images, (i) => i.stream);
    expect(byStream.shared).toHaveLength(1 + SHARED_COMPONENTS);
    expect(byStream['rhel-9']?.map((i) => i.tag)).toEqual([
      'kube-virt-container',
      'rhel-coreos',
      'rhel-coreos-extensions',
    ]);
    expect(byStream['rhel-10']?.map((i) => i.tag)).toEqual([
      'kube-virt-container-rhel-10',
      'rhel-coreos-10',
      'rhel-coreos-10-extensions',
    ]);
    expect(byStream['rhel-8']?.map((i) => i.tag)).toEqual([
      'rhel-coreos-8',
      'rhel-coreos-8-extensions',
    ]);
    const release = images.find((i) => i.kind === 'release');
    expect(release).toMatchObject({
      source: 'quay.io/openshift-release-dev/ocp-release:5.0.0-ec.2-x86_64',
      destination: `${TO}/openshift/release-images:5.0.0-ec.2-x86_64`,
      stream: 'shared',
      size: null,
    });
    const tools = images.find((i) => i.tag === 'tools');
    expect(tools).toMatchObject({
      destination: `${TO}/openshift/release:5.0.0-ec.2-x86_64-tools`,
      mediaType: OCI_MANIFEST,
      size: MANIFEST + BASE.size + 1_000,
    });
  });

  it('mirrors the KubeVirt disk of every stream, by digest-ref', () => {
    const disks = images.filter((i) => i.kind === 'kubevirt');
    expect(disks.map((d) => [d.stream, d.arch, d.source, d.destination])).toEqual([
      [
        'rhel-9',
        'x86_64',
        KUBEVIRT_RHEL9,
        `${TO}/openshift/release:5.0.0-ec.2-x86_64-kube-virt-container`,
      ],
      [
        'rhel-10',
        'x86_64',
        KUBEVIRT_RHEL10,
        `${TO}/openshift/release:5.0.0-ec.2-x86_64-kube-virt-container-rhel-10`,
      ],
    ]);
    const isc = parseYaml(files.get('imageset-config.yaml') ?? '') as {
      mirror: { additionalImages: unknown[]; platform: Record<string, unknown> };
    };
    expect(isc.mirror.additionalImages).toEqual([
      {
        name: KUBEVIRT_RHEL9,
        targetRepo: 'openshift/release',
        targetTag: '5.0.0-ec.2-x86_64-kube-virt-container',
      },
      {
        name: KUBEVIRT_RHEL10,
        targetRepo: 'openshift/release',
        targetTag: '5.0.0-ec.2-x86_64-kube-virt-container-rhel-10',
      },
    ]);
    expect(isc.mirror.platform).toEqual({
      release: `quay.io/openshift-release-dev/ocp-release@${sha('release 5.0.0-ec.2')}`,
    });
  });

  it('writes IDMS and ITMS by oc-mirror release rules, valid against the upstream CRDs', () => {
    const idms = parseAllDocuments(files.get('idms.yaml') ?? '').map((d) => d.toJS() as unknown);
    const itms = parseAllDocuments(files.get('itms.yaml') ?? '').map((d) => d.toJS() as unknown);
    for (const doc of idms)
      expect(validateIdms(doc), JSON.stringify(validateIdms.errors)).toBe(true);
    for (const doc of itms)
      expect(validateItms(doc), JSON.stringify(validateItms.errors)).toBe(true);
    expect(files.get('idms.yaml')).toBe(
      [
        '---',
        'apiVersion: config.openshift.io/v1',
        'kind: ImageDigestMirrorSet',
        'metadata:',
        '  name: idms-release-0',
        'spec:',
        '  imageDigestMirrors:',
        '  - mirrors:',
        `    - ${TO}/openshift/release-images`,
        '    source: quay.io/openshift-release-dev/ocp-release',
        '  - mirrors:',
        `    - ${TO}/openshift/release`,
        `    source: ${ART}`,
        '',
      ].join('\n'),
    );
    expect(entriesOf(files.get('itms.yaml'), 'imageTagMirrors')).toEqual([
      {
        mirrors: [`${TO}/openshift/release-images`],
        source: 'quay.io/openshift-release-dev/ocp-release',
      },
    ]);
  });

  it('writes one mapping line per image', () => {
    const lines = (files.get('mapping.txt') ?? '').trimEnd().split('\n');
    expect(lines).toHaveLength(images.length);
    expect(lines).toEqual([...lines].sort());
    expect(lines).toContain(
      `docker://${KUBEVIRT_RHEL10}=docker://${TO}/openshift/release:5.0.0-ec.2-x86_64-kube-virt-container-rhel-10`,
    );
  });

  it('lists the destination repositories and the boot artifacts of both streams', () => {
    const summary = files.get('summary.md') ?? '';
    expect(summary).toContain(
      `- \`${TO}/openshift/release\`\n- \`${TO}/openshift/release-images\`\n`,
    );
    expect(summary).toContain('### rhel-9 — 5.0.0-ec.2-x86_64 (CoreOS stream rhcos-4.21)');
    expect(summary).toContain('### rhel-10 — 5.0.0-ec.2-x86_64 (CoreOS stream rhcos-4.22)');
    expect(summary).toContain('| us-east-1 | `ami-06a6b025350ff1e23` |');
    expect(summary).toContain('| us-east-1 | `ami-04b3d999e39d62c5b` |');
    expect(summary).toContain(
      '`projects/rhcos-cloud/global/images/rhcos-10-2-20260405-0-gcp-x86-64`',
    );
    expect(summary).toContain('- Gen2: `azureopenshift:aro4:420-v2:9.6.20251015`');
    expect(summary).toContain('`d774960b396372c0ed2ea00a4d98151b1cfea9c5bcfc106d3e51566b4e9cce33`');
    expect(summary).toContain(
      `mirrored to \`${TO}/openshift/release:5.0.0-ec.2-x86_64-kube-virt-container-rhel-10\``,
    );
    // An x86_64 payload: no other architecture's boot images.
    expect(summary).not.toContain('#### aarch64');
    expect(summary).not.toContain('PowerVS');
  });
});

describe('stream selection', () => {
  it("keeps only the selected streams' node images and disks; shared images stay", () => {
    for (const [stream, other] of [
      ['rhel-9', 'rhel-10'],
      ['rhel-10', 'rhel-9'],
    ] as const) {
      const files = buildPlan([release()], options({ streams: [stream] }));
      const images = imagesOf(files);
      expect(new Set(images.map((i) => i.stream))).toEqual(new Set(['shared', stream]));
      expect(images).toHaveLength(1 + SHARED_COMPONENTS + 3);
      expect(images.some((i) => i.stream === other)).toBe(false);
      expect(files.get('summary.md')).not.toContain(`### ${other} —`);
      // oc-mirror would mirror every tag: the left-out node images are blocked in its config.
      const isc = parseYaml(files.get('imageset-config.yaml') ?? '') as {
        mirror: { blockedImages: { name: string }[]; additionalImages: unknown[] };
      };
      expect(isc.mirror.blockedImages).toHaveLength(4);
      expect(isc.mirror.additionalImages).toHaveLength(1);
    }
  });

  it('the blocked patterns match the left-out images and nothing planned', () => {
    const files = buildPlan([release()], options({ streams: ['rhel-10'] }));
    const isc = parseYaml(files.get('imageset-config.yaml') ?? '') as {
      mirror: { blockedImages: { name: string }[] };
    };
    // Go's RE2 and JavaScript agree on these patterns (literals, escapes, `|`, `$`).
    const patterns = isc.mirror.blockedImages.map((b) => new RegExp(b.name));
    const planned = imagesOf(files);
    for (const image of planned) {
      for (const p of patterns) {
        expect(p.test(image.source) || p.test(`docker://${image.destination}`)).toBe(false);
      }
    }
    const full = imagesOf(buildPlan([release()], options()));
    const left = full.filter(
      (i) => i.kind === 'component' && !planned.some((p) => p.tag === i.tag),
    );
    expect(left.map((i) => i.tag).sort()).toEqual([
      'rhel-coreos',
      'rhel-coreos-8',
      'rhel-coreos-8-extensions',
      'rhel-coreos-extensions',
    ]);
    for (const image of left) {
      expect(patterns.some((p) => p.test(image.source))).toBe(true);
      expect(patterns.some((p) => p.test(`docker://${image.destination}`))).toBe(true);
    }
  });

  it('refuses a stream no release offers', () => {
    expect(() => buildPlan([release()], options({ streams: ['rhel-11'] }))).toThrow(
      /"rhel-11" is in no release; the releases offer rhel-8, rhel-9, rhel-10/,
    );
  });

  it('without KubeVirt, plans no disk and no additionalImages', () => {
    const files = buildPlan([release()], options({ kubevirt: false }));
    expect(imagesOf(files).filter((i) => i.kind === 'kubevirt')).toEqual([]);
    const isc = parseYaml(files.get('imageset-config.yaml') ?? '') as { mirror: object };
    expect(Object.keys(isc.mirror)).toEqual(['platform']);
    expect(files.get('imageset-config.yaml')).not.toContain('additionalImages');
  });
});

describe('summary arithmetic (shared blobs counted once)', () => {
  // Known by hand from the layer layout above; the release image and the disks have no size.
  const rhel9Own = MANIFEST + 40_000 + 5_000 + (MANIFEST + 8_000);
  const rhel10Own = MANIFEST + 60_000 + 5_000 + (MANIFEST + 9_000); // base counted in shared
  const rhel8Own = MANIFEST + 7_000 + (MANIFEST + 3_000);

  it('per stream, per plan and what each stream adds', () => {
    const plan = planImages([release()], options({ streams: ['rhel-9', 'rhel-10'] }));
    const sizes = streamSizes(plan);
    expect(sizes.shared).toEqual({
      images: 1 + SHARED_COMPONENTS,
      manifests: 1 + SHARED_COMPONENTS,
      bytes: SHARED_BYTES,
      unknown: 1,
    });
    expect(sizes.perStream.get('rhel-9')).toMatchObject({
      images: 1 + SHARED_COMPONENTS + 3,
      bytes: SHARED_BYTES + rhel9Own,
      unknown: 2,
    });
    expect(sizes.perStream.get('rhel-10')).toMatchObject({
      bytes: SHARED_BYTES + rhel10Own,
      unknown: 2,
    });
    // The OCP node layer is in both streams: the whole plan has it once.
    expect(sizes.all.bytes).toBe(SHARED_BYTES + rhel9Own + rhel10Own - 5_000);
    expect(sizes.all.unknown).toBe(3);
    // What the second stream adds: its own blobs only (not the node layer, not the base).
    expect(sizes.added.get('rhel-10')).toEqual({
      images: 3,
      manifests: 3,
      bytes: MANIFEST + 60_000 + MANIFEST + 9_000,
      unknown: 1,
    });
    expect(sizes.added.get('rhel-9')?.bytes).toBe(MANIFEST + 40_000 + MANIFEST + 8_000);

    const summary = buildPlan([release()], options({ streams: ['rhel-9', 'rhel-10'] })).get(
      'summary.md',
    );
    expect(summary).toContain('| whole plan | 188 | 495,500 bytes (483.89 KiB) | 3 image(s) |');
    expect(summary).toContain('**rhel-10** adds 3 images');
    expect(summary).toContain('and 70,000 bytes (68.36 KiB) that no other image of the plan');
    expect(SHARED_BYTES + rhel9Own + rhel10Own - 5_000).toBe(495_500);
  });

  it('counts the release image and the disks when their sizes are known', () => {
    const data = release();
    const disk = (name: string) => ({
      mediaType: OCI_MANIFEST,
      size: MANIFEST + 30_000,
      layers: [layer(name, 30_000)],
    });
    data.size = MANIFEST + 2_000 + 50_000;
    data.layers = [layer('release-manifests', 50_000), layer('cvo', 2_000)];
    data.kubevirtSizes = { [KUBEVIRT_RHEL9]: disk('disk 9'), [KUBEVIRT_RHEL10]: disk('disk 10') };
    const opts = options({ streams: ['rhel-9', 'rhel-10'] });
    const plan = planImages([data], opts);
    expect(plan.images.filter((i) => i.size === undefined)).toEqual([]);
    expect(plan.images.find((i) => i.kind === 'release')).toMatchObject({
      size: data.size,
      layers: data.layers,
    });
    expect(
      plan.images.filter((i) => i.kind === 'kubevirt').map((i) => [i.stream, i.size, i.mediaType]),
    ).toEqual([
      ['rhel-9', MANIFEST + 30_000, OCI_MANIFEST],
      ['rhel-10', MANIFEST + 30_000, OCI_MANIFEST],
    ]);
    const sizes = streamSizes(plan);
    const releaseBytes = MANIFEST + 52_000;
    expect(sizes.shared).toMatchObject({ bytes: SHARED_BYTES + releaseBytes, unknown: 0 });
    expect(sizes.added.get('rhel-10')).toMatchObject({
      bytes: MANIFEST + 60_000 + MANIFEST + 9_000 + MANIFEST + 30_000,
      unknown: 0,
    });
    expect(sizes.all).toMatchObject({
      bytes: 495_500 + releaseBytes + 2 * (MANIFEST + 30_000),
      unknown: 0,
    });
    const summary = buildPlan([data], opts).get('summary.md') ?? '';
    expect(summary).not.toContain('unknown size');
    expect(summary).toMatch(/^\| whole plan \| 188 \| [\d,]+ bytes \([\d.]+ KiB\) \| {2}\|$/m);
    expect(JSON.parse(buildPlan([data], opts).get('images.json') ?? '')).toMatchObject({
      images: expect.not.arrayContaining([expect.objectContaining({ size: null })]) as unknown,
    });
  });

  it('counts a digest shared by two releases once', () => {
    const second = release({
      pullspec: 'quay.io/openshift-release-dev/ocp-release:5.0.0-ec.3-x86_64',
      version: '5.0.0-ec.3',
      digest: sha('release 5.0.0-ec.3'),
      retag: { tools: sha('tools ec.3') },
    });
    const one = streamSizes(planImages([release()], options())).all;
    const two = streamSizes(planImages([release(), second], options())).all;
    expect(two.images).toBe(2 * one.images);
    // One new component (its own 1,000-byte layer + manifest), one more release image size unknown.
    expect(two.bytes).toBe(one.bytes + MANIFEST + 1_000);
    expect(two.unknown).toBe(one.unknown + 1);
    expect(rhel8Own).toBe(11_000);
  });
});

describe('mapping.txt reproduces oc-mirror dry-run lines', () => {
  it('gives the two real example lines for the same inputs', () => {
    const example = fixture('oc-mirror/mapping-m2m-release-example.txt').trimEnd().split('\n');
    const tools = '024bb32ca49837b9ce58f0e1610e5bbb395df7ffaa90ddcffb8cf8ef1b3900dc';
    const files = buildPlan(
      [
        release({
          pullspec: 'quay.io/openshift-release-dev/ocp-release:4.17.9-x86_64',
          version: '4.17.9',
          retag: { tools: `sha256:${tools}` },
        }),
      ],
      options({ to: 'sherinefedora:5000/release/newtest', kubevirt: false }),
    );
    const lines = (files.get('mapping.txt') ?? '').split('\n');
    expect(example).toHaveLength(2);
    for (const line of example) expect(lines).toContain(line);
  });
});

describe('options', () => {
  it('--max-nested-paths flattens destinations and forces repository scope', () => {
    const files = buildPlan([release()], options({ to: 'reg:5000/ns', maxNestedPaths: 2 }));
    for (const image of imagesOf(files)) {
      expect(parseRef(image.destination).path.split('/').length).toBeLessThanOrEqual(2);
    }
    expect(entriesOf(files.get('idms.yaml'), 'imageDigestMirrors')).toEqual([
      {
        mirrors: ['reg:5000/ns/openshift-release-images'],
        source: 'quay.io/openshift-release-dev/ocp-release',
      },
      { mirrors: ['reg:5000/ns/openshift-release'], source: ART },
    ]);
    expect(files.get('imageset-config.yaml')).toContain('--max-nested-paths 2');
    expect(() => buildPlan([release()], options({ to: 'reg/a/b', maxNestedPaths: 2 }))).toThrow(
      PlanError,
    );
  });

  it('sets mirrorSourcePolicy on every entry', () => {
    const files = buildPlan([release()], options({ mirrorSourcePolicy: 'NeverContactSource' }));
    const entries = [
      ...entriesOf(files.get('idms.yaml'), 'imageDigestMirrors'),
      ...entriesOf(files.get('itms.yaml'), 'imageTagMirrors'),
    ];
    expect(entries).toHaveLength(3);
    for (const e of entries) expect(e.mirrorSourcePolicy).toBe('NeverContactSource');
  });

  it('a release by digest needs no ITMS, and is named <version>-<arch>', () => {
    const digest = sha('release 5.0.0-ec.2');
    const files = buildPlan(
      [release({ pullspec: `quay.io/openshift-release-dev/ocp-release@${digest}` })],
      options(),
    );
    expect(files.has('itms.yaml')).toBe(false);
    expect(files.get('mapping.txt')).toContain(
      `docker://quay.io/openshift-release-dev/ocp-release@${digest}=docker://${TO}/openshift/release-images:5.0.0-ec.2-x86_64\n`,
    );
    expect(entriesOf(files.get('idms.yaml'), 'imageDigestMirrors')).toHaveLength(2);
  });

  it('a release by tag and digest is copied by digest (containers/image cannot pull both)', () => {
    const digest = sha('release 5.0.0-ec.2');
    const pullspec = `quay.io/openshift-release-dev/ocp-release:5.0.0-ec.2-x86_64@${digest}`;
    const files = buildPlan([release({ pullspec })], options());
    expect(files.get('mapping.txt')).toContain(
      `docker://quay.io/openshift-release-dev/ocp-release@${digest}=docker://${TO}/openshift/release-images:5.0.0-ec.2-x86_64\n`,
    );
    expect(imagesOf(files).find((i) => i.kind === 'release')?.source).not.toContain(':5.0.0');
  });

  it('refuses an empty stream selection', () => {
    expect(() => buildPlan([release()], options({ streams: [] }))).toThrow(/no stream selected/);
  });

  it('plans the same payload given by tag and by digest once', () => {
    const digest = sha('release 5.0.0-ec.2');
    const byTag = buildPlan([release()], options());
    const both = buildPlan(
      [release({ pullspec: `quay.io/openshift-release-dev/ocp-release@${digest}` }), release()],
      options(),
    );
    expect(both).toEqual(byTag);
  });

  it('a multi payload gets every architecture, named with an arch suffix', () => {
    const files = buildPlan(
      [
        release({
          pullspec: 'quay.io/openshift-release-dev/ocp-release:5.0.0-ec.2-multi',
          arch: 'multi',
        }),
      ],
      options(),
    );
    const disks = imagesOf(files).filter((i) => i.kind === 'kubevirt');
    expect(disks.map((d) => d.tag)).toEqual([
      'kube-virt-container-rhel-10-x86_64',
      'kube-virt-container-x86_64',
    ]);
    const summary = files.get('summary.md') ?? '';
    expect(summary).toContain('#### aarch64');
    expect(summary).toContain('PowerVS images:');
    expect(summary).toContain('no rhel-9 KubeVirt disk to mirror for aarch64, ppc64le');
    const isc = parseYaml(files.get('imageset-config.yaml') ?? '') as {
      mirror: { platform: { platforms: unknown[] } };
    };
    expect(isc.mirror.platform.platforms).toEqual([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
      { os: 'linux', architecture: 'ppc64le' },
    ]);
    const amd64 = buildPlan(
      [
        release({
          pullspec: 'quay.io/openshift-release-dev/ocp-release:5.0.0-ec.2-multi',
          arch: 'multi',
        }),
      ],
      options({ architectures: ['amd64'] }),
    );
    expect(amd64.get('summary.md')).not.toContain('#### aarch64');
  });

  it('several releases: one ImageSetConfiguration per release', () => {
    const second = release({
      pullspec: 'quay.io/openshift-release-dev/ocp-release:5.0.0-ec.3-x86_64',
      version: '5.0.0-ec.3',
      digest: sha('release 5.0.0-ec.3'),
    });
    const files = buildPlan([second, release()], options());
    expect([...files.keys()].filter((f) => f.startsWith('imageset-config'))).toEqual([
      'imageset-config-5.0.0-ec.2-x86_64.yaml',
      'imageset-config-5.0.0-ec.3-x86_64.yaml',
    ]);
    expect(imagesOf(files)).toHaveLength(2 * 190);
  });

  it('refuses inconsistent release data', () => {
    const bad = release();
    const first = bad.components[0];
    if (first) first.digest = sha('not it');
    expect(() => buildPlan([bad], options())).toThrow(/differs from its source's/);
    expect(() =>
      buildPlan([release({ pullspec: `quay.io/x/y@${sha('other')}` })], options()),
    ).toThrow(/differs from the fetched/);
    expect(() =>
      buildPlan([release(), release({ digest: sha('another payload') })], options()),
    ).toThrow(/same release tag/);
    expect(() => buildPlan([], options())).toThrow(PlanError);
    const incomplete = release();
    incomplete.components = incomplete.components.filter((c) => c.tag !== 'tools');
    expect(() => buildPlan([incomplete], options())).toThrow(
      /components do not match image-references; missing tools/,
    );
  });

  it('without a bootimages ConfigMap: no disk, and the summary says why', () => {
    const files = buildPlan([release({ bootImages: undefined })], options());
    expect(imagesOf(files).filter((i) => i.kind === 'kubevirt')).toEqual([]);
    expect(files.get('summary.md')).toContain('no coreos-bootimages ConfigMap');
  });
});

describe('determinism and properties', () => {
  const second = release({
    pullspec: 'quay.io/openshift-release-dev/ocp-release:5.0.0-ec.3-x86_64',
    version: '5.0.0-ec.3',
    digest: sha('release 5.0.0-ec.3'),
    retag: { tools: sha('tools ec.3'), 'rhel-coreos-10': sha('rhel-coreos-10 ec.3') },
  });
  const base = [release(), second];

  it('gives identical bytes for shuffled releases and components', () => {
    const expected = buildPlan(base, options());
    fc.assert(
      fc.property(
        fc.shuffledSubarray(base, { minLength: 2, maxLength: 2 }),
        fc.array(fc.nat(), { minLength: 2, maxLength: 2 }),
        (releases, seeds) => {
          const shuffled = releases.map((r, i) => ({
            ...r,
            components: shuffle(r.components, seeds[i] ?? 0),
          }));
          const files = buildPlan(shuffled, options());
          expect([...files]).toEqual([...expected]);
        },
      ),
      { numRuns: 10 },
    );
  });

  it('every planned image is mapped once and covered by an IDMS or ITMS entry; paths fit N', () => {
    const segment = fc.stringMatching(/^[a-z0-9]{1,6}$/);
    fc.assert(
      fc.property(
        fc.constantFrom('reg.example.com', 'reg:5000', 'localhost'),
        fc.array(segment, { maxLength: 3 }),
        fc.subarray(['rhel-8', 'rhel-9', 'rhel-10'], { minLength: 1 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 6 }),
        fc.option(fc.constantFrom('NeverContactSource', 'AllowContactingSource' as const), {
          nil: undefined,
        }),
        (host, ns, streams, kubevirt, nested, policy) => {
          const to = [host, ...ns].join('/');
          const depth = Math.max(ns.length, 1);
          const maxNestedPaths = nested === 0 ? 0 : depth + nested;
          const files = buildPlan(base, {
            to,
            streams,
            kubevirt,
            maxNestedPaths,
            mirrorSourcePolicy: policy,
          });
          const images = imagesOf(files);
          const lines = (files.get('mapping.txt') ?? '').trimEnd().split('\n');
          expect(lines).toHaveLength(images.length);
          const counts = new Map<string, number>();
          for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1);
          const idms = entriesOf(files.get('idms.yaml'), 'imageDigestMirrors');
          const itms = entriesOf(files.get('itms.yaml'), 'imageTagMirrors');
          for (const image of images) {
            expect(counts.get(`docker://${image.source}=docker://${image.destination}`)).toBe(1);
            const ref = parseRef(image.source);
            if (ref.digest !== undefined || image.kind === 'release') {
              expect(covered(image, idms), image.destination).toBe(true);
            }
            if (ref.tag !== undefined) expect(covered(image, itms), image.destination).toBe(true);
            if (maxNestedPaths > 0) {
              expect(parseRef(image.destination).path.split('/').length).toBeLessThanOrEqual(
                maxNestedPaths,
              );
            }
            expect(image.stream === 'shared' || streams.includes(image.stream)).toBe(true);
          }
          for (const e of [...idms, ...itms]) expect(e.mirrorSourcePolicy).toBe(policy);
        },
      ),
      { numRuns: 40 },
    );
  });
});

function groupBy<T>(items: readonly T[], key: (item: T) => string): Record<string, T[]> {
  const groups: Record<string, T[]> = {};
  for (const item of items) (groups[key(item)] ??= []).push(item);
  return groups;
}

/** A deterministic Fisher–Yates shuffle from a seed. */
function shuffle<T>(items: readonly T[], seed: number): T[] {
  const result = [...items];
  let state = seed + 1;
  for (let i = result.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const j = state % (i + 1);
    [result[i], result[j]] = [result[j] as T, result[i] as T];
  }
  return result;
}
