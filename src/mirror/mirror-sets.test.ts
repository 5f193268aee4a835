import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { crdValidator } from '../k8s/crd-schema.js';
import { PlanError } from './errors.js';
import {
  mirrorSets,
  renderMirrorSets,
  type MirrorImageType,
  type MirrorSetImage,
  type MirrorSets,
} from './mirror-sets.js';

const fixture = (name: string) =>
  readFileSync(new URL(`../../test/fixtures/upstream/${name}`, import.meta.url), 'utf8');

const validateIdms = crdValidator(
  parseYaml(fixture('openshift-api-imagedigestmirrorsets.crd.yaml')),
  'v1',
);
const validateItms = crdValidator(
  parseYaml(fixture('openshift-api-imagetagmirrorsets.crd.yaml')),
  'v1',
);

/** oc-mirror's v2alpha1 ImageType names (as transcribed in the inputs) → ours. */
const TYPES: Record<string, MirrorImageType> = {
  TypeOCPRelease: 'ocpRelease',
  TypeOCPReleaseContent: 'ocpReleaseContent',
  TypeCincinnatiGraph: 'cincinnatiGraph',
  TypeOperatorCatalog: 'operatorCatalog',
  TypeOperatorBundle: 'operatorBundle',
  TypeOperatorRelatedImage: 'operatorRelatedImage',
  TypeGeneric: 'generic',
};

interface GoldenInput {
  source: string;
  destination: string;
  origin: string;
  type: string;
}

const inputs = (
  JSON.parse(fixture('oc-mirror/golden-idms-itms-inputs.json')) as {
    cases: Record<string, GoldenInput[]>;
  }
).cases;

function caseImages(name: string): MirrorSetImage[] {
  const list = inputs[name];
  if (!list) throw new Error(`no case ${name}`);
  return list.map((i) => {
    const type = TYPES[i.type];
    if (!type) throw new Error(`unknown type ${i.type}`);
    return { origin: i.origin, destination: i.destination, type };
  });
}

interface Entry {
  source?: string;
  mirrors?: string[];
  mirrorSourcePolicy?: string;
}
interface Doc {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string };
  spec?: { imageDigestMirrors?: Entry[]; imageTagMirrors?: Entry[] };
}

function docs(text: string): Doc[] {
  return parseAllDocuments(text).map((d) => d.toJS() as Doc);
}

/**
 * Upstream builds entries (and objects) from Go maps, so their order is not stable: compare
 * objects by name and, within each, entries as a set (mirrors are one-element lists here).
 */
function asSets(list: Doc[]) {
  return Object.fromEntries(
    list.map((d) => {
      const entries = d.spec?.imageDigestMirrors ?? d.spec?.imageTagMirrors ?? [];
      const { spec: _spec, ...rest } = d;
      return [
        d.metadata?.name,
        {
          ...rest,
          entries: entries
            .map((e) => JSON.stringify({ ...e, mirrors: [...(e.mirrors ?? [])].sort() }))
            .sort(),
        },
      ];
    }),
  );
}

function render(sets: MirrorSets) {
  return { idms: renderMirrorSets(sets.idms), itms: renderMirrorSets(sets.itms) };
}

function expectSchemaValid(sets: MirrorSets) {
  for (const doc of sets.idms) {
    expect(validateIdms(doc), JSON.stringify(validateIdms.errors)).toBe(true);
  }
  for (const doc of sets.itms) {
    expect(validateItms(doc), JSON.stringify(validateItms.errors)).toBe(true);
  }
}

describe('mirrorSets against oc-mirror golden outputs', () => {
  it('release use case: components → openshift/release, release image → release-images', () => {
    const sets = mirrorSets(caseImages('imageListRelease'));
    const out = render(sets);
    expect(asSets(docs(out.idms))).toEqual(
      asSets(docs(fixture('oc-mirror/golden-release-idms-oc-mirror.yaml'))),
    );
    expect(asSets(docs(out.itms))).toEqual(
      asSets(docs(fixture('oc-mirror/golden-release-itms-oc-mirror.yaml'))),
    );
    // A one-entry object has no order to disagree on: the bytes are oc-mirror's layout.
    expect(out.itms).toBe(fixture('oc-mirror/golden-release-itms-oc-mirror.yaml'));
    expectSchemaValid(sets);
  });

  it('mixed tags and digests: namespace scope when the destination keeps the source path', () => {
    const sets = mirrorSets(caseImages('imageListMixed'));
    const out = render(sets);
    expect(asSets(docs(out.idms))).toEqual(
      asSets(docs(fixture('oc-mirror/golden-mixed-idms-oc-mirror.yaml'))),
    );
    expect(asSets(docs(out.itms))).toEqual(
      asSets(docs(fixture('oc-mirror/golden-mixed-itms-oc-mirror.yaml'))),
    );
    expectSchemaValid(sets);
  });

  it('digests only: one IDMS (namespace scope), no ITMS (oc-mirror writes no itms file)', () => {
    const sets = mirrorSets(caseImages('imageListDigestsOnly'));
    expect(sets.itms).toEqual([]);
    expect(render(sets).itms).toBe('');
    expect(sets.idms).toEqual([
      {
        apiVersion: 'config.openshift.io/v1',
        kind: 'ImageDigestMirrorSet',
        metadata: { name: 'idms-release-0' },
        spec: {
          imageDigestMirrors: [
            {
              mirrors: ['myregistry/mynamespace/openshift-release-dev'],
              source: 'quay.io/openshift-release-dev',
            },
          ],
        },
      },
    ]);
    expectSchemaValid(sets);
  });

  it('tag and digest (OCPBUGS-85331): in both IDMS and ITMS', () => {
    const sets = mirrorSets(caseImages('imageListTagAndDigest'));
    const entry = { mirrors: ['myregistry/mynamespace/nvidia/k8s'], source: 'nvcr.io/nvidia/k8s' };
    expect(sets.idms.map((d) => [d.metadata.name, d.spec.imageDigestMirrors])).toEqual([
      ['idms-operator-0', [entry]],
    ]);
    expect(sets.itms.map((d) => [d.metadata.name, d.spec.imageTagMirrors])).toEqual([
      ['itms-operator-0', [entry]],
    ]);
    expectSchemaValid(sets);
  });

  it('OCPBUGS-47688: a destination path containing "release" still gets repository scope', () => {
    // The two real dry-run lines, sent to the destination of upstream's OCPBUGS-47688 test.
    const lines = fixture('oc-mirror/mapping-m2m-release-example.txt').trim().split('\n');
    const images: MirrorSetImage[] = lines.map((line, index) => {
      const [origin = '', destination = ''] = line.split('=');
      return {
        origin,
        destination: destination.replace(
          'sherinefedora:5000/release/newtest',
          'myregistry/openshift-release-dev/ocp-release',
        ),
        type: index === 0 ? 'ocpRelease' : 'ocpReleaseContent',
      };
    });
    const sets = mirrorSets(images);
    expect(sets.idms[0]?.spec.imageDigestMirrors).toEqual([
      {
        mirrors: ['myregistry/openshift-release-dev/ocp-release/openshift/release-images'],
        source: 'quay.io/openshift-release-dev/ocp-release',
      },
      {
        mirrors: ['myregistry/openshift-release-dev/ocp-release/openshift/release'],
        source: 'quay.io/openshift-release-dev/ocp-v4.0-art-dev',
      },
    ]);
    expect(sets.itms[0]?.spec.imageTagMirrors).toEqual([
      {
        mirrors: ['myregistry/openshift-release-dev/ocp-release/openshift/release-images'],
        source: 'quay.io/openshift-release-dev/ocp-release',
      },
    ]);
  });
});

describe('mirrorSets rules', () => {
  const digest = `sha256:${'a'.repeat(64)}`;

  it('uses repository scope for everything when forced (max nested paths)', () => {
    // Upstream's imageListMaxNestedPaths: a destination flattened by --max-nested-paths 2.
    const images: MirrorSetImage[] = [
      {
        origin: 'docker://quay.io/cockroachdb/cockroach-helm-operator:6.0.0',
        destination: 'docker://myregistry/mynamespace/cockroachdb-cockroach-helm-operator:6.0.0',
        type: 'operatorRelatedImage',
      },
      {
        origin: `quay.io/openshift-community-operators/cockroachdb@${digest}`,
        destination: `myregistry/mynamespace/openshift-community-operators/cockroachdb@${digest}`,
        type: 'operatorBundle',
      },
    ];
    const forced = mirrorSets(images, { forceRepositoryScope: true });
    expect(forced.itms[0]?.spec.imageTagMirrors).toEqual([
      {
        mirrors: ['myregistry/mynamespace/cockroachdb-cockroach-helm-operator'],
        source: 'quay.io/cockroachdb/cockroach-helm-operator',
      },
    ]);
    expect(forced.idms[0]?.spec.imageDigestMirrors).toEqual([
      {
        mirrors: ['myregistry/mynamespace/openshift-community-operators/cockroachdb'],
        source: 'quay.io/openshift-community-operators/cockroachdb',
      },
    ]);
    // Not forced, the bundle keeps its path and gets namespace scope.
    expect(mirrorSets(images).idms[0]?.spec.imageDigestMirrors[0]?.source).toBe(
      'quay.io/openshift-community-operators',
    );
  });

  it('matches the path suffix as a plain string, as upstream (not segment by segment)', () => {
    const sets = mirrorSets([
      {
        origin: `quay.io/release@${digest}`,
        destination: `reg/ns/openshift/release:x`,
        type: 'generic',
      },
    ]);
    expect(sets.idms[0]?.spec.imageDigestMirrors).toEqual([
      { mirrors: ['reg/ns/openshift'], source: 'quay.io' },
    ]);
  });

  it('sets mirrorSourcePolicy on every entry, and stays schema-valid', () => {
    const sets = mirrorSets(caseImages('imageListMixed'), {
      mirrorSourcePolicy: 'NeverContactSource',
    });
    const entries = [
      ...sets.idms.flatMap((d) => d.spec.imageDigestMirrors),
      ...sets.itms.flatMap((d) => d.spec.imageTagMirrors),
    ];
    expect(entries.length).toBeGreaterThan(3);
    for (const e of entries) expect(e.mirrorSourcePolicy).toBe('NeverContactSource');
    // Go's key order: mirrorSourcePolicy sorts before mirrors.
    expect(render(sets).idms).toContain(
      '  - mirrorSourcePolicy: NeverContactSource\n    mirrors:\n',
    );
    expectSchemaValid(sets);
  });

  it('the CRD schema check is real: it rejects a bad policy and a bad mirror', () => {
    expect(
      validateIdms({
        apiVersion: 'config.openshift.io/v1',
        kind: 'ImageDigestMirrorSet',
        metadata: { name: 'x' },
        spec: { imageDigestMirrors: [{ source: 'quay.io/a', mirrorSourcePolicy: 'Sometimes' }] },
      }),
    ).toBe(false);
    expect(
      validateItms({
        apiVersion: 'config.openshift.io/v1',
        kind: 'ImageTagMirrorSet',
        metadata: { name: 'x' },
        spec: { imageTagMirrors: [{ source: 'quay.io/a', mirrors: ['reg/UPPER'] }] },
      }),
    ).toBe(false);
  });

  it('merges mirrors of one source and sorts them', () => {
    const sets = mirrorSets([
      { origin: `q.io/a/b@${digest}`, destination: `r2/x/y:t`, type: 'generic' },
      { origin: `q.io/a/b@${digest}`, destination: `r1/x/y:t`, type: 'generic' },
      { origin: `q.io/a/b@${digest}`, destination: `r1/x/y:u`, type: 'generic' },
    ]);
    expect(sets.idms[0]?.spec.imageDigestMirrors).toEqual([
      { mirrors: ['r1/x/y', 'r2/x/y'], source: 'q.io/a/b' },
    ]);
  });

  it('refuses a copy without an origin', () => {
    expect(() => mirrorSets([{ origin: '', destination: 'r/x:t', type: 'generic' }])).toThrow(
      PlanError,
    );
  });

  it('gives the same bytes whatever the input order', () => {
    const all = Object.keys(inputs).flatMap(caseImages);
    const expected = render(mirrorSets(all));
    fc.assert(
      fc.property(
        fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }),
        (shuffled) => {
          expect(render(mirrorSets(shuffled))).toEqual(expected);
        },
      ),
      { numRuns: 50 },
    );
  });
});
