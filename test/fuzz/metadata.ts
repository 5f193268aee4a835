// Fuzzes boot image metadata: the installer's coreos-rhel-{9,10}.json stream metadata and
// HyperShift's dual-stream (5.0) and legacy (4.10) coreos-bootimages ConfigMaps, mutated, then
// parsed and looked up for every platform. Every input parses or fails with a CatalogError naming
// where; a parsed catalog answers every lookup without throwing.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse } from 'yaml';
import { lookupBootImage } from '../../src/catalog/boot-image.js';
import { parseBootImagesConfigMap } from '../../src/catalog/bootimages-configmap.js';
import { CatalogError } from '../../src/catalog/errors.js';
import { parseStreamMetadataText } from '../../src/catalog/stream-metadata.js';
import type { BootImageCatalog } from '../../src/catalog/types.js';
import type { ConfigMap } from '../../src/k8s/objects.js';
import { upstreamText } from '../kube-api/fixtures.js';
import {
  byteMutationArb,
  DOMAIN_STRINGS,
  mutate,
  mutateBytes,
  mutationArb,
  serialize,
  type Json,
} from './support/mutate.js';
import { Outcomes, runProperty, type FuzzReport, type FuzzRun } from './support/run.js';
import { loadsOrFailsTyped } from './support/typed-error.js';

const STREAMS = ['installer-coreos-rhel-9.json', 'installer-coreos-rhel-10.json'].map(
  (f) => JSON.parse(upstreamText(f)) as Json,
);
const CONFIGMAPS = [
  'hypershift-fixture-5.0-coreos-bootimages-configmap.yaml',
  'hypershift-fixture-4.10-coreos-bootimages-configmap.yaml',
].map((f) => parse(upstreamText(f)) as Record<string, Json> & { data: Record<string, string> });

const PLATFORMS = ['AWS', 'Azure', 'GCP', 'KubeVirt', 'PowerVS', 'OpenStack', 'Agent', 'None'];
const ARCHES = ['amd64', 'arm64', 'ppc64le', 's390x', ''];
const REGIONS = ['us-east-1', 'us-west-2', 'au-syd', 'eu-de', 'nowhere', ''];

type Target =
  | { kind: 'stream'; seed: number }
  /** Mutate the embedded `streams` JSON (or the legacy `stream`) text of a ConfigMap. */
  | { kind: 'embedded'; seed: number; key: 'streams' | 'stream' }
  /** Mutate the ConfigMap object itself (data keys, types). */
  | { kind: 'configmap'; seed: number };

const targetArb: fc.Arbitrary<Target> = fc.oneof(
  fc.record({ kind: fc.constant('stream' as const), seed: fc.nat(STREAMS.length - 1) }),
  fc.record({
    kind: fc.constant('embedded' as const),
    seed: fc.nat(CONFIGMAPS.length - 1),
    key: fc.constantFrom<'streams' | 'stream'>('streams', 'stream'),
  }),
  fc.record({ kind: fc.constant('configmap' as const), seed: fc.nat(CONFIGMAPS.length - 1) }),
);

const caseArb = fc.record({
  target: targetArb,
  mutations: fc.array(mutationArb(50_000, 3_000), { minLength: 1, maxLength: 4 }),
  damage: fc.oneof(
    { weight: 5, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: byteMutationArb },
  ),
  lookups: fc.array(
    fc.record({
      stream: fc.constantFrom('rhel-9', 'rhel-10', ...DOMAIN_STRINGS.slice(0, 6)),
      platform: fc.constantFrom(...PLATFORMS),
      arch: fc.constantFrom(...ARCHES),
      region: fc.constantFrom(...REGIONS),
      windows: fc.boolean(),
      azureGeneration: fc.constantFrom<'Gen1' | 'Gen2'>('Gen1', 'Gen2'),
    }),
    { minLength: 1, maxLength: 6 },
  ),
});

type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

function damaged(text: string, c: Case): string {
  return c.damage ? mutateBytes(Buffer.from(text), c.damage).toString('utf8') : text;
}

const WHERE = 'fuzz metadata';

function parseCase(c: Case): BootImageCatalog | undefined {
  const t = c.target;
  if (t.kind === 'stream') {
    const text = damaged(serialize(mutate(STREAMS[t.seed] ?? null, c.mutations)), c);
    parseStreamMetadataText(text, 'rhel-9', WHERE);
    return undefined;
  }
  const cm = structuredClone(CONFIGMAPS[t.seed]) as ConfigMap & { data: Record<string, string> };
  if (t.kind === 'embedded') {
    const raw = cm.data[t.key];
    const doc = raw === undefined ? null : (JSON.parse(raw) as Json);
    cm.data[t.key] = damaged(serialize(mutate(doc, c.mutations)), c);
    return parseBootImagesConfigMap(cm, WHERE).catalog;
  }
  const mutated = mutate(cm as unknown as Json, c.mutations) as unknown as ConfigMap;
  return parseBootImagesConfigMap(mutated, WHERE).catalog;
}

export async function fuzzMetadata(run: FuzzRun): Promise<FuzzReport> {
  const outcomes = new Outcomes();
  const property = fc.asyncProperty(caseArb, async (c) => {
    const catalog = (await loadsOrFailsTyped(
      outcomes,
      () => parseCase(c),
      [CatalogError],
      (e) => e.message.startsWith(WHERE),
    )) as BootImageCatalog | undefined;
    if (!catalog) return;
    for (const l of c.lookups) {
      const found = lookupBootImage(catalog, l.stream, l);
      assert.ok(['found', 'missing', 'not-needed'].includes(found.kind));
      if (found.kind === 'found') assert.equal(typeof found.image, 'string');
    }
  });
  return runProperty('metadata', run, property, outcomes);
}
