// Property tests of the engine's safety invariants over generated pools, changes, contexts and
// policies. The oracle below restates DESIGN.md's resolution rules independently of the engine.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { decide } from './decide.js';
import type { DecisionContext, KubeObject, NodePool, UserInfo } from './types.js';
import { crdValidator } from '../k8s/crd-schema.js';
import { applyJsonPatch } from '../k8s/patch.js';
import { defaultPolicy } from '../policy/load.js';
import type { Policy } from '../policy/types.js';
import { ClusterState } from '../state/index.js';
import { StateReleaseCatalog } from '../state/releases.js';
import {
  CRUN_CRC,
  R417,
  R421,
  R50,
  RUNC_CRC,
  configMap,
  crioDropInMachineConfig,
  fixtureText,
  hostedCluster,
  nodePool,
  releaseObjects,
  request,
} from '../../test/support/world.js';

const MC_RUNC = crioDropInMachineConfig(
  '99-runc',
  'runc',
  '/etc/crio/crio.conf.d/99-runc',
  'base64',
);
const CONFIGS: Record<string, string> = {
  'runc-crc': RUNC_CRC,
  'crun-crc': CRUN_CRC,
  'runc-mc': MC_RUNC,
};
const RELEASES = [
  R50,
  R421,
  R417,
  'quay.io/openshift-release-dev/ocp-release:5.1.0-x86_64',
  `quay.io/openshift-release-dev/ocp-release@sha256:${'e'.repeat(64)}`,
];

const techPreviewCrd = parse(
  fixtureText('hypershift-nodepools-TechPreviewNoUpgrade.crd.yaml'),
) as KubeObject;
const defaultCrd = parse(fixtureText('hypershift-nodepools-Default.crd.yaml')) as KubeObject;
const validateNodePool = crdValidator(techPreviewCrd, 'v1beta1');
const base = [...releaseObjects(), ...Object.entries(CONFIGS).map(([n, c]) => configMap(n, c))];
const releases = new StateReleaseCatalog(base);

const SAMPLE_PLATFORM = nodePool().spec?.platform as { aws: Record<string, unknown> };
const platform = fc.constantFrom<Record<string, unknown> | undefined>(
  undefined,
  { ...SAMPLE_PLATFORM, aws: { ...SAMPLE_PLATFORM.aws, ami: 'ami-0123456789abcdef0' } },
  {
    type: 'Azure',
    azure: {
      vmSize: 'Standard_D4s_v3',
      image: { type: 'AzureMarketplace', azureMarketplace: { imageGeneration: 'Gen2' } },
      osDisk: { sizeGiB: 120 },
      subnetID:
        '/subscriptions/x/resourceGroups/y/providers/Microsoft.Network/virtualNetworks/z/subnets/w',
    },
  },
  { type: 'Agent', agent: {} },
  { type: 'None' },
);

const poolArb = fc.record({
  stream: fc.constantFrom(undefined, 'rhel-9', 'rhel-10'),
  status: fc.constantFrom(undefined, 'rhel-9', 'rhel-10'),
  release: fc.constantFrom(...RELEASES),
  config: fc.subarray(['runc-crc', 'crun-crc', 'runc-mc', 'missing']),
  defaulted: fc.boolean(),
  exempt: fc.constantFrom(undefined, 'boot-image', 'no-downgrade,runtime', 'known-stream'),
  platform,
  replicas: fc.integer({ min: 0, max: 5 }),
});
type PoolInput = typeof poolArb extends fc.Arbitrary<infer T> ? T : never;

function makePool(p: PoolInput, upgradeType: 'Replace' | 'InPlace'): NodePool {
  const annotations: Record<string, string> = {};
  if (p.defaulted && p.stream) annotations['streamguard.io/defaulted-stream'] = p.stream;
  if (p.exempt) {
    annotations['streamguard.io/exempt'] = p.exempt;
    annotations['streamguard.io/exempt-reason'] = 'test';
  }
  const pool = nodePool({
    stream: p.stream,
    status: p.status,
    release: p.release,
    config: p.config,
    upgradeType,
    platform: p.platform,
    annotations: Object.keys(annotations).length ? annotations : undefined,
  });
  return { ...pool, spec: { ...pool.spec, replicas: p.replicas } };
}

const policyArb = fc.record({
  action: fc.constantFrom<'deny' | 'warn' | 'off'>('deny', 'warn', 'off'),
  noDowngradeReplace: fc.constantFrom<'deny' | 'warn'>('deny', 'warn'),
  onMissingContext: fc.constantFrom<'deny' | 'warn'>('deny', 'warn'),
  pinOnCreate: fc.boolean(),
  exemptAlice: fc.boolean(),
});

function makePolicy(p: typeof policyArb extends fc.Arbitrary<infer T> ? T : never): Policy {
  const d = defaultPolicy();
  const actions = Object.fromEntries(
    Object.keys(d.actions).map((k) => [k, p.action]),
  ) as Policy['actions'];
  return {
    ...d,
    actions,
    noDowngradeReplace: p.noDowngradeReplace,
    onMissingContext: p.onMissingContext,
    pinOnCreate: p.pinOnCreate,
    exemptions: { users: p.exemptAlice ? ['alice'] : [], groups: [] },
  };
}

const contextArb = fc.record({
  region: fc.constantFrom('us-east-1', 'eu-west-3'),
  crd: fc.constantFrom('none', 'tech-preview', 'default'),
  policy: policyArb,
});

function makeContext(
  c: typeof contextArb extends fc.Arbitrary<infer T> ? T : never,
): DecisionContext {
  const objects: KubeObject[] = [
    ...base,
    hostedCluster({ platform: { type: 'AWS', aws: { region: c.region } } }),
  ];
  if (c.crd === 'tech-preview') objects.push(techPreviewCrd);
  if (c.crd === 'default') objects.push(defaultCrd);
  return { policy: makePolicy(c.policy), releases, cluster: new ClusterState(objects) };
}

/** DESIGN.md's resolution, restated: what the pool's nodes would run. */
function oracleEffective(pool: NodePool): string | undefined {
  const explicit = pool.spec?.osImageStream?.name;
  const config = (pool.spec?.config ?? []).map((c) => c.name);
  const runcHs = config.includes('runc-crc');
  const tag = /:(\d+)\.(\d+)/.exec(pool.spec?.release?.image ?? '');
  const major = tag ? Number(tag[1]) : undefined;
  if (explicit === 'rhel-9') return 'rhel-9';
  if (explicit === 'rhel-10') return 'rhel-10';
  if (major === undefined) return undefined;
  return major < 5 || runcHs ? 'rhel-9' : 'rhel-10';
}

function usesRunc(pool: NodePool): boolean {
  return (pool.spec?.config ?? []).some((c) => c.name === 'runc-crc' || c.name === 'runc-mc');
}

const user = fc.constantFrom<UserInfo | undefined>(
  undefined,
  { username: 'alice' },
  { username: 'bob', groups: ['ops'] },
);
const RUNS = { numRuns: 400 };

describe('engine invariants (fast-check)', () => {
  it('never allows an InPlace pool on rhel-10 to end up on effective rhel-9', () => {
    fc.assert(
      fc.property(poolArb, poolArb, contextArb, user, (o, n, c, u) => {
        const old = makePool(o, 'InPlace');
        const next = makePool(n, 'InPlace');
        const onRhel10 =
          old.spec?.osImageStream?.name === 'rhel-10' ||
          old.status?.osImageStream?.name === 'rhel-10' ||
          oracleEffective(old) === 'rhel-10';
        const d = decide(
          { ...request('UPDATE', next, old), userInfo: u },
          makeContext(c),
          'validate',
        );
        if (onRhel10 && d.allowed) expect(oracleEffective(next)).not.toBe('rhel-9');
        if (onRhel10 && d.allowed) expect(oracleEffective(next)).toBeDefined();
      }),
      RUNS,
    );
  });

  it('never allows explicit rhel-10 with runc, by either detection path', () => {
    fc.assert(
      fc.property(
        fc.option(poolArb, { nil: undefined }),
        poolArb,
        contextArb,
        user,
        (o, n, c, u) => {
          const next = makePool({ ...n, stream: 'rhel-10' }, 'Replace');
          fc.pre(usesRunc(next));
          const req = o ? request('UPDATE', next, makePool(o, 'Replace')) : request('CREATE', next);
          const d = decide({ ...req, userInfo: u }, makeContext(c), 'validate');
          expect(d.allowed).toBe(false);
          expect(d.findings.some((f) => f.rule === 'runtime' && f.severity === 'deny')).toBe(true);
        },
      ),
      RUNS,
    );
  });

  it('is deterministic and does not modify its input', () => {
    fc.assert(
      fc.property(
        fc.option(poolArb, { nil: undefined }),
        poolArb,
        contextArb,
        user,
        fc.constantFrom('validate', 'mutate'),
        (o, n, c, u, webhook) => {
          const next = makePool(n, 'Replace');
          const req = {
            ...(o ? request('UPDATE', next, makePool(o, 'Replace')) : request('CREATE', next)),
            userInfo: u,
          };
          const frozen = structuredClone(req);
          const a = decide(req, makeContext(c), webhook as 'validate');
          const b = decide(structuredClone(req), makeContext(c), webhook as 'validate');
          expect(a).toEqual(b);
          expect(req).toEqual(frozen);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('mutates an UPDATE only to restore a pin (sticky-default), and never denies', () => {
    fc.assert(
      fc.property(poolArb, poolArb, contextArb, (o, n, c) => {
        const old = makePool(o, 'Replace');
        const next = makePool(n, 'Replace');
        const d = decide(request('UPDATE', next, old), makeContext(c), 'mutate');
        expect(d.allowed).toBe(true);
        if (d.patch.length === 0) return;
        const pinned = old.spec?.osImageStream?.name;
        expect(pinned).toBeDefined();
        expect(old.metadata?.annotations?.['streamguard.io/defaulted-stream']).toBe(pinned);
        expect(next.spec?.osImageStream).toBeUndefined();
        expect(d.findings.map((f) => f.rule)).toEqual(['sticky-default']);
        expect(applyJsonPatch(next, d.patch).spec?.osImageStream).toEqual({ name: pinned });
      }),
      RUNS,
    );
  });

  it('every patch applies cleanly and yields a NodePool valid against the upstream TechPreview CRD schema', () => {
    fc.assert(
      fc.property(fc.option(poolArb, { nil: undefined }), poolArb, contextArb, (o, n, c) => {
        const next = makePool(o ? n : { ...n, stream: undefined }, 'Replace');
        expect(validateNodePool(next), JSON.stringify(validateNodePool.errors)).toBe(true);
        const req = o ? request('UPDATE', next, makePool(o, 'Replace')) : request('CREATE', next);
        const d = decide(req, makeContext(c), 'mutate');
        const patched = applyJsonPatch(next, d.patch);
        expect(validateNodePool(patched), JSON.stringify(validateNodePool.errors)).toBe(true);
        if (!o && d.patch.length > 0) {
          const stream = patched.spec?.osImageStream?.name;
          expect(stream).toBe(oracleEffective(next));
          expect(patched.metadata?.annotations?.['streamguard.io/defaulted-stream']).toBe(stream);
        }
      }),
      RUNS,
    );
  });

  it('never throws on malformed objects: any field of a NodePool or ConfigMap may hold anything', () => {
    const paths = [
      ['spec'],
      ['spec', 'config'],
      ['spec', 'config', 0],
      ['spec', 'platform'],
      ['spec', 'platform', 'aws'],
      ['spec', 'osImageStream'],
      ['spec', 'osImageStream', 'name'],
      ['spec', 'release'],
      ['spec', 'management'],
      ['spec', 'arch'],
      ['metadata'],
      ['metadata', 'annotations'],
      ['status'],
      ['status', 'osImageStream'],
    ] as const;
    const junk = fc.anything({ withNullPrototype: true, withObjectString: true, maxDepth: 3 });
    const poolObject = fc
      .tuple(poolArb, fc.array(fc.tuple(fc.constantFrom(...paths), junk), { maxLength: 3 }))
      .map(([p, edits]) => {
        const pool = structuredClone(makePool(p, 'InPlace')) as Record<string, unknown>;
        for (const [path, value] of edits) setPath(pool, path, value);
        return pool;
      });
    const cmKind = { group: '', version: 'v1', kind: 'ConfigMap' };
    const ctx = makeContext({
      region: 'us-east-1',
      crd: 'none',
      policy: {
        action: 'deny',
        noDowngradeReplace: 'deny',
        onMissingContext: 'warn',
        pinOnCreate: true,
        exemptAlice: true,
      },
    });
    fc.assert(
      fc.property(
        poolObject,
        poolObject,
        junk,
        fc.constantFrom('validate', 'mutate'),
        (next, old, cmData, webhook) => {
          const w = webhook as 'validate' | 'mutate';
          for (const req of [
            request('CREATE', next as KubeObject),
            request('UPDATE', next as KubeObject, old as KubeObject),
          ]) {
            const d = decide({ ...req, userInfo: { username: 'alice' } }, ctx, w);
            expect(typeof d.allowed).toBe('boolean');
          }
          const cm = { ...configMap('runc-crc', RUNC_CRC), data: cmData as Record<string, string> };
          const d = decide(
            request('UPDATE', cm, configMap('runc-crc', RUNC_CRC), cmKind),
            ctx,
            'validate',
          );
          expect(typeof d.allowed).toBe('boolean');
        },
      ),
      { numRuns: 300 },
    );
  });
});

function setPath(
  root: Record<string, unknown>,
  path: readonly (string | number)[],
  value: unknown,
): void {
  let node: unknown = root;
  for (const key of path.slice(0, -1)) {
    if (typeof node !== 'object' || node === null) return;
    node = (node as Record<string | number, unknown>)[key];
  }
  if (typeof node === 'object' && node !== null) {
    (node as Record<string | number, unknown>)[path[path.length - 1] as string] = value;
  }
}
