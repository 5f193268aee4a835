import { describe, expect, it } from 'vitest';
import { decide } from './decide.js';
import type { Decision } from './types.js';
import {
  CRUN_CRC,
  DIGESTS,
  R417,
  R421,
  RUNC_CRC,
  configMap,
  crioDropInMachineConfig,
  hostedCluster,
  nodePool,
  request,
  world,
} from '../../test/support/world.js';
import { defaultPolicy } from '../policy/load.js';

const rules = (d: Decision) => d.findings.map((f) => `${f.severity}:${f.rule}`);
const denied = (d: Decision) => d.findings.filter((f) => f.severity === 'deny').map((f) => f.rule);

describe('effective stream on CREATE', () => {
  it('allows an implicit pool on 5.0 whose boot image exists (us-east-1 in the 5.0 payload)', () => {
    const d = decide(request('CREATE', nodePool()), world(), 'validate');
    expect(d.allowed).toBe(true);
    expect(d.findings).toEqual([]);
  });

  it('denies explicit rhel-10 on a 4.21 release (release-minimum) with the upstream message', () => {
    const d = decide(
      request('CREATE', nodePool({ release: R421, stream: 'rhel-10' })),
      world(),
      'validate',
    );
    expect(d.allowed).toBe(false);
    const f = d.findings.find((x) => x.rule === 'release-minimum');
    expect(f?.message).toContain(
      'stream "rhel-10" requires OCP >= 5.0, but release version is 4.21.0-x86_64',
    );
  });

  it('denies a stream name the API does not accept', () => {
    const d = decide(request('CREATE', nodePool({ stream: 'rhel-11' })), world(), 'validate');
    expect(denied(d)).toEqual(['known-stream']);
    expect(d.findings[0]?.message).toContain(
      'unknown RHEL stream "rhel-11"; valid values are "rhel-9" and "rhel-10"',
    );
  });

  it('denies rhel-10 on a single-stream payload that does not offer it', () => {
    const d = decide(
      request('CREATE', nodePool({ release: R421, stream: 'rhel-10' })),
      world(),
      'validate',
    );
    expect(denied(d)).toEqual(['known-stream', 'release-minimum']);
    expect(d.findings[0]?.message).toContain('available streams: [rhel-9]');
  });

  it('denies explicit rhel-10 with a runc ContainerRuntimeConfig and names where runc is set', () => {
    const ctx = world([configMap('runtime', RUNC_CRC)]);
    const d = decide(
      request('CREATE', nodePool({ stream: 'rhel-10', config: ['runtime'] })),
      ctx,
      'validate',
    );
    expect(denied(d)).toEqual(['runtime']);
    expect(d.findings[0]?.message).toContain('ConfigMap "runtime"');
    expect(d.findings[0]?.message).toContain('crun');
  });

  it('allows an implicit 5.0 pool with runc: the release default is then rhel-9', () => {
    const ctx = world([configMap('runtime', RUNC_CRC)]);
    const d = decide(request('CREATE', nodePool({ config: ['runtime'] })), ctx, 'validate');
    expect(d.allowed).toBe(true);
  });

  it('denies an implicit 5.0 pool whose MachineConfig CRI-O drop-in sets runc (HyperShift misses it, the MCO fails)', () => {
    const mc = crioDropInMachineConfig(
      '99-worker-runc',
      'runc',
      '/etc/crio/crio.conf.d/99-runc.conf',
    );
    const ctx = world([configMap('mc', mc)]);
    const d = decide(request('CREATE', nodePool({ config: ['mc'] })), ctx, 'validate');
    expect(denied(d)).toEqual(['runtime']);
    expect(d.findings[0]?.message).toContain('/etc/crio/crio.conf.d/99-runc.conf');
  });
});

describe('boot image availability', () => {
  it('denies rhel-10 in a region the payload has no AMI for, naming where it is available', () => {
    const ctx = world();
    const hc = hostedCluster({ platform: { type: 'AWS', aws: { region: 'eu-west-3' } } });
    const d = decide(
      request('CREATE', nodePool({ stream: 'rhel-10' })),
      { ...ctx, cluster: ctx.cluster.withOverlay([hc]) },
      'validate',
    );
    expect(denied(d)).toEqual(['boot-image']);
    expect(d.findings[0]?.message).toMatch(
      /no rhel-10 boot image for AWS region eu-west-3 \(amd64\)/,
    );
    expect(d.findings[0]?.message).toContain('us-east-1, us-west-2');
    expect(d.findings[0]?.message).toContain('spec.platform.aws.ami');
  });

  it('skips the lookup when the pool overrides its AMI', () => {
    const ctx = world();
    const hc = hostedCluster({ platform: { type: 'AWS', aws: { region: 'eu-west-3' } } });
    const pool = nodePool({
      stream: 'rhel-10',
      platform: { type: 'AWS', aws: { ami: 'ami-0123456789abcdef0' } },
    });
    const d = decide(
      request('CREATE', pool),
      { ...ctx, cluster: ctx.cluster.withOverlay([hc]) },
      'validate',
    );
    expect(d.allowed).toBe(true);
  });

  it('denies rhel-10 on Azure where the 5.0 payload has no marketplace image (empty no-purchase-plan)', () => {
    const pool = nodePool({
      stream: 'rhel-10',
      platform: { type: 'Azure', azure: { image: { type: 'AzureMarketplace' } } },
    });
    const d = decide(request('CREATE', pool), world(), 'validate');
    expect(denied(d)).toEqual(['boot-image']);
    expect(d.findings[0]?.message).toContain('rhel-9 has one here');
  });

  it('warns with the catalog rule when the release is not in the state (embedded catalog)', () => {
    const pool = nodePool({ release: 'quay.io/openshift-release-dev/ocp-release:5.0.3-x86_64' });
    const d = decide(request('CREATE', pool), world(), 'validate');
    expect(d.allowed).toBe(true);
    expect(rules(d)).toEqual(['warn:catalog']);
  });

  it('follows onMissingContext: deny makes the embedded-catalog case a denial', () => {
    const policy = { ...defaultPolicy(), onMissingContext: 'deny' as const };
    const pool = nodePool({ release: 'quay.io/openshift-release-dev/ocp-release:5.0.3-x86_64' });
    const d = decide(request('CREATE', pool), world([], policy), 'validate');
    expect(denied(d)).toEqual(['catalog']);
  });
});

describe('downgrades', () => {
  it('denies explicit rhel-10 → rhel-9 on any pool with the upstream CEL message', () => {
    const old = nodePool({ stream: 'rhel-10' });
    const d = decide(request('UPDATE', nodePool({ stream: 'rhel-9' }), old), world(), 'validate');
    expect(denied(d)).toEqual(['no-downgrade']);
    expect(d.findings[0]?.message).toContain(
      'OS stream downgrade from rhel-10 to rhel-9 is not allowed; create a new NodePool instead',
    );
  });

  it('denies an explicit rhel-9 on an implicit pool whose nodes run rhel-10 (CEL cannot see it)', () => {
    const old = nodePool({ upgradeType: 'InPlace' });
    const d = decide(
      request('UPDATE', nodePool({ upgradeType: 'InPlace', stream: 'rhel-9' }), old),
      world(),
      'validate',
    );
    expect(denied(d)).toEqual(['no-downgrade']);
  });

  it('denies a release moved back below 5.0 on an implicit rhel-10 pool', () => {
    const old = nodePool({ status: 'rhel-10' });
    const next = nodePool({ status: 'rhel-10', release: R421 });
    const d = decide(request('UPDATE', next, old), world(), 'validate');
    expect(denied(d)).toContain('no-downgrade');
    expect(d.findings.find((f) => f.rule === 'no-downgrade')?.message).toContain('below 5.0');
  });

  it('protects a pool whose status says rhel-10 even when its old spec resolves to rhel-9', () => {
    const old = nodePool({ stream: 'rhel-9', status: 'rhel-10', upgradeType: 'InPlace' });
    // Removing the field is denied by no-removal; an InPlace pool still on rhel-10 nodes staying
    // on explicit rhel-9 is a downgrade of what runs.
    const d = decide(
      request(
        'UPDATE',
        nodePool({ stream: 'rhel-9', status: 'rhel-10', upgradeType: 'InPlace', name: 'workers' }),
        old,
      ),
      world(),
      'validate',
    );
    expect(denied(d)).toEqual(['no-downgrade']);
  });

  it('lets a policy relax no-downgrade to warn for Replace pools but never for InPlace pools', () => {
    const policy = { ...defaultPolicy(), noDowngradeReplace: 'warn' as const };
    const ctx = world([], policy);
    const replace = decide(
      request('UPDATE', nodePool({ stream: 'rhel-9' }), nodePool({ stream: 'rhel-10' })),
      ctx,
      'validate',
    );
    expect(replace.allowed).toBe(true);
    expect(rules(replace)).toEqual(['warn:no-downgrade']);
    const inPlace = decide(
      request(
        'UPDATE',
        nodePool({ stream: 'rhel-9', upgradeType: 'InPlace' }),
        nodePool({ stream: 'rhel-10', upgradeType: 'InPlace' }),
      ),
      ctx,
      'validate',
    );
    expect(denied(inPlace)).toEqual(['no-downgrade']);
  });

  it('denies an InPlace rhel-10 pool whose new stream cannot be resolved, whatever onMissingContext says', () => {
    const digestOnly = 'quay.io/openshift-release-dev/ocp-release@sha256:' + 'a'.repeat(64);
    const old = nodePool({ upgradeType: 'InPlace', status: 'rhel-10' });
    const next = nodePool({ upgradeType: 'InPlace', status: 'rhel-10', release: digestOnly });
    const d = decide(request('UPDATE', next, old), world(), 'validate');
    expect(denied(d)).toEqual(['no-downgrade']);
    expect(rules(d)).toContain('warn:context');
  });
});

describe('ConfigMaps are part of the pools that use them', () => {
  it('denies adding runc to the config of an implicit InPlace rhel-10 pool, naming the pool', () => {
    const pool = nodePool({ upgradeType: 'InPlace', config: ['runtime'], status: 'rhel-10' });
    // On 4.21 the release default is rhel-9 either way: runc changes nothing for this pool.
    const other = nodePool({ name: 'other', config: ['runtime'], release: R421 });
    const ctx = world([pool, other, configMap('runtime', CRUN_CRC)]);
    const d = decide(
      request('UPDATE', configMap('runtime', RUNC_CRC), configMap('runtime', CRUN_CRC), {
        group: '',
        version: 'v1',
        kind: 'ConfigMap',
      }),
      ctx,
      'validate',
    );
    expect(d.allowed).toBe(false);
    const msgs = d.findings.filter((f) => f.severity === 'deny').map((f) => f.message);
    expect(
      msgs.some((m) => m.startsWith('NodePool clusters/workers (uses ConfigMap clusters/runtime)')),
    ).toBe(true);
    expect(msgs.some((m) => m.startsWith('NodePool clusters/other'))).toBe(false);
  });

  it('allows subresource updates (status, scale) untouched', () => {
    const old = nodePool({ stream: 'rhel-10', status: 'rhel-10' });
    const next = nodePool({ stream: 'rhel-9', status: 'rhel-9' });
    const req = { ...request('UPDATE', next, old), subResource: 'status' };
    expect(decide(req, world(), 'validate')).toEqual({ allowed: true, findings: [], patch: [] });
    expect(decide({ ...req, subResource: undefined }, world(), 'validate').allowed).toBe(false);
  });

  it('allows a ConfigMap no NodePool uses, and every DELETE, untouched', () => {
    const ctx = world([nodePool({ config: ['runtime'] })]);
    const cmKind = { group: '', version: 'v1', kind: 'ConfigMap' };
    expect(
      decide(request('CREATE', configMap('unrelated', RUNC_CRC), null, cmKind), ctx, 'validate'),
    ).toEqual({ allowed: true, findings: [], patch: [] });
    expect(decide(request('DELETE', null, nodePool()), ctx, 'validate')).toEqual({
      allowed: true,
      findings: [],
      patch: [],
    });
  });
});

describe('warnings', () => {
  it('warns on an InPlace rhel-9 → rhel-10 rebase', () => {
    const old = nodePool({ upgradeType: 'InPlace', stream: 'rhel-9' });
    const d = decide(
      request('UPDATE', nodePool({ upgradeType: 'InPlace', stream: 'rhel-10' }), old),
      world(),
      'validate',
    );
    expect(rules(d)).toEqual(['warn:inplace-rebase']);
  });

  it('warns when a release change flips an implicit pool from rhel-9 to rhel-10', () => {
    const old = nodePool({ release: R421 });
    const d = decide(request('UPDATE', nodePool(), old), world(), 'validate');
    expect(rules(d)).toEqual(['warn:implicit-flip']);
    expect(d.findings[0]?.message).toContain('pin spec.osImageStream.name: rhel-9');
  });

  it('warns when the installed NodePool CRD lacks spec.osImageStream', () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'nodepools.hypershift.openshift.io' },
      spec: {
        group: 'hypershift.openshift.io',
        names: { kind: 'NodePool', plural: 'nodepools' },
        versions: [
          {
            name: 'v1beta1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: { spec: { type: 'object', properties: {} } },
              },
            },
          },
        ],
      },
    };
    const d = decide(request('CREATE', nodePool({ stream: 'rhel-9' })), world([crd]), 'validate');
    expect(rules(d)).toEqual(['warn:field-supported']);
  });

  it('ratchets static rules: a scale of a pool already lacking a boot image only warns', () => {
    const ctx = world();
    const hc = hostedCluster({ platform: { type: 'AWS', aws: { region: 'eu-west-3' } } });
    const view = { ...ctx, cluster: ctx.cluster.withOverlay([hc]) };
    const old = nodePool({ stream: 'rhel-10' });
    const next = { ...old, spec: { ...old.spec, replicas: 5 } };
    const d = decide(request('UPDATE', next, old), view, 'validate');
    expect(d.allowed).toBe(true);
    expect(rules(d)).toEqual(['warn:boot-image']);
  });
});

describe('exemptions', () => {
  const exempt = {
    'streamguard.io/exempt': 'boot-image',
    'streamguard.io/exempt-reason': 'AMI copied by hand',
  };
  const inRegion = (ctxPolicy = defaultPolicy()) => {
    const ctx = world([], ctxPolicy);
    const hc = hostedCluster({ platform: { type: 'AWS', aws: { region: 'eu-west-3' } } });
    return { ...ctx, cluster: ctx.cluster.withOverlay([hc]) };
  };

  it('is honoured only for users the policy allows, and always reported', () => {
    const policy = { ...defaultPolicy(), exemptions: { users: ['alice'], groups: [] } };
    const pool = nodePool({ stream: 'rhel-10', annotations: exempt });
    const ok = decide(
      { ...request('CREATE', pool), userInfo: { username: 'alice' } },
      inRegion(policy),
      'validate',
    );
    expect(ok.allowed).toBe(true);
    expect(rules(ok)).toEqual(['warn:boot-image', 'warn:exemption']);
    const bob = decide(
      { ...request('CREATE', pool), userInfo: { username: 'bob' } },
      inRegion(policy),
      'validate',
    );
    expect(denied(bob)).toEqual(['boot-image']);
    expect(bob.findings.find((f) => f.rule === 'exemption')?.message).toContain(
      'user bob is not allowed',
    );
  });

  it('never lifts the runtime rule', () => {
    const policy = { ...defaultPolicy(), exemptions: { users: ['alice'], groups: [] } };
    const pool = nodePool({
      stream: 'rhel-10',
      config: ['runtime'],
      annotations: { 'streamguard.io/exempt': 'runtime', 'streamguard.io/exempt-reason': 'x' },
    });
    const d = decide(
      { ...request('CREATE', pool), userInfo: { username: 'alice' } },
      world([configMap('runtime', RUNC_CRC)], policy),
      'validate',
    );
    expect(denied(d)).toEqual(['runtime']);
  });
});

describe('mutation', () => {
  it('pins the resolved stream on CREATE with the defaulted annotation', () => {
    const d = decide(request('CREATE', nodePool()), world(), 'mutate');
    expect(d.allowed).toBe(true);
    expect(d.patch).toEqual([
      { op: 'add', path: '/spec/osImageStream', value: { name: 'rhel-10' } },
      {
        op: 'add',
        path: '/metadata/annotations',
        value: { 'streamguard.io/defaulted-stream': 'rhel-10' },
      },
    ]);
  });

  it('pins rhel-9 on a 4.21 release and never touches an UPDATE that keeps its field', () => {
    const d = decide(request('CREATE', nodePool({ release: R417 })), world(), 'mutate');
    expect(d.patch[0]).toEqual({
      op: 'add',
      path: '/spec/osImageStream',
      value: { name: 'rhel-9' },
    });
    const old = nodePool();
    expect(
      decide(request('UPDATE', nodePool({ release: R421 }), old), world(), 'mutate').patch,
    ).toEqual([]);
  });

  it('restores a pinned stream that a full-replace apply dropped (sticky-default)', () => {
    const annotations = { 'streamguard.io/defaulted-stream': 'rhel-10' };
    const old = nodePool({ stream: 'rhel-10', annotations });
    const d = decide(request('UPDATE', nodePool(), old), world(), 'mutate');
    expect(d.patch).toEqual([
      { op: 'add', path: '/spec/osImageStream', value: { name: 'rhel-10' } },
      {
        op: 'add',
        path: '/metadata/annotations',
        value: { 'streamguard.io/defaulted-stream': 'rhel-10' },
      },
    ]);
    // Without the mutating webhook, the validating one sees a removal.
    expect(denied(decide(request('UPDATE', nodePool(), old), world(), 'validate'))).toEqual([
      'no-removal',
    ]);
  });

  it('does not restore a stream the user set (no defaulted annotation)', () => {
    const old = nodePool({ stream: 'rhel-10' });
    expect(decide(request('UPDATE', nodePool(), old), world(), 'mutate').patch).toEqual([]);
  });
});

describe('mirrored (disconnected clusters)', () => {
  const art = 'quay.io/openshift-release-dev/ocp-v4.0-art-dev';
  const disconnected = (sources: { source: string; mirrors: string[] }[]) =>
    hostedCluster({ imageContentSources: sources });
  const inventory = (digests: string[]) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'mirror-inventory',
      namespace: 'streamguard',
      annotations: { 'streamguard.io/mirror-inventory': 'mirror.example.com:5000' },
    },
    data: { digests: digests.join('\n') },
  });
  const withMirror = [{ source: art, mirrors: ['mirror.example.com:5000/openshift/release'] }];

  it('denies a rhel-10 pool whose node image digests are in no mirror inventory', () => {
    const ctx = world([disconnected(withMirror)]);
    const d = decide(request('CREATE', nodePool({ stream: 'rhel-10' })), ctx, 'validate');
    expect(denied(d)).toEqual(['mirrored']);
    expect(d.findings[0]?.message).toContain(`${art}@${DIGESTS['rhel-coreos-10']}`);
    expect(d.findings[0]?.message).toContain('not in any mirror inventory');
  });

  it('allows it once both rhel-10 digests are in an inventory, and a rhel-9 pool needs the rhel-9 ones', () => {
    const inv = inventory([DIGESTS['rhel-coreos-10'], DIGESTS['rhel-coreos-10-extensions']]);
    const ctx = world([disconnected(withMirror), inv]);
    expect(
      decide(request('CREATE', nodePool({ stream: 'rhel-10' })), ctx, 'validate').allowed,
    ).toBe(true);
    // Same source repository, other digests: a prefix check alone would have passed this.
    expect(
      denied(decide(request('CREATE', nodePool({ stream: 'rhel-9' })), ctx, 'validate')),
    ).toEqual(['mirrored']);
  });

  it('needs a mirror source covering the images; an IDMS in the pool config counts', () => {
    const inv = inventory(Object.values(DIGESTS));
    const otherSource = [
      {
        source: 'quay.io/openshift-release-dev/ocp-release',
        mirrors: ['mirror.example.com:5000/ocp'],
      },
    ];
    const ctx = world([disconnected(otherSource), inv]);
    const d = decide(request('CREATE', nodePool({ stream: 'rhel-10' })), ctx, 'validate');
    expect(d.findings[0]?.message).toContain('not covered by any mirror source');
    const idms = `apiVersion: config.openshift.io/v1
kind: ImageDigestMirrorSet
metadata:
  name: art
spec:
  imageDigestMirrors:
  - source: ${art}
    mirrors:
    - mirror.example.com:5000/openshift/release
`;
    const ctx2 = world([disconnected(otherSource), inv, configMap('mirrors', idms)]);
    const d2 = decide(
      request('CREATE', nodePool({ stream: 'rhel-10', config: ['mirrors'] })),
      ctx2,
      'validate',
    );
    expect(d2.allowed).toBe(true);
  });

  it('does not apply to connected clusters unless the policy says the site is disconnected', () => {
    expect(
      decide(request('CREATE', nodePool({ stream: 'rhel-10' })), world(), 'validate').allowed,
    ).toBe(true);
    const policy = { ...defaultPolicy(), disconnected: 'true' as const };
    const d = decide(
      request('CREATE', nodePool({ stream: 'rhel-10' })),
      world([], policy),
      'validate',
    );
    expect(denied(d)).toEqual(['mirrored']);
  });
});

describe('other platforms', () => {
  it('checks KubeVirt disks unless containerDiskImage overrides them', () => {
    const kubevirt = (disk?: string) => ({
      type: 'KubeVirt',
      kubevirt: { ...(disk ? { diskImage: { containerDiskImage: disk } } : {}) },
    });
    // The 5.0 payload has KubeVirt disks for x86_64 only.
    const d = decide(
      request('CREATE', nodePool({ arch: 'arm64', platform: kubevirt() })),
      world(),
      'validate',
    );
    expect(denied(d)).toEqual(['boot-image']);
    expect(d.findings[0]?.message).toContain('x86_64');
    const o = decide(
      request('CREATE', nodePool({ arch: 'arm64', platform: kubevirt('quay.io/example/disk:1') })),
      world(),
      'validate',
    );
    expect(o.allowed).toBe(true);
  });

  it('needs no boot image for Agent and None pools', () => {
    for (const type of ['Agent', 'None']) {
      const d = decide(
        request('CREATE', nodePool({ stream: 'rhel-10', platform: { type } })),
        world(),
        'validate',
      );
      expect(d.findings).toEqual([]);
    }
  });

  it('says what is missing when the HostedCluster is unknown', () => {
    const pool = nodePool();
    const orphan = { ...pool, spec: { ...pool.spec, clusterName: 'missing' } };
    const d = decide(request('CREATE', orphan), world(), 'validate');
    expect(d.allowed).toBe(true);
    expect(rules(d)).toEqual(['warn:context']);
    expect(d.findings[0]?.message).toContain('HostedCluster clusters/missing is not known');
  });
});

describe('objects with fields of the wrong type', () => {
  it('decides a pool whose metadata.name is a deeply nested list without stringifying it', () => {
    let name: unknown = 'x';
    for (let i = 0; i < 50_000; i++) name = [name];
    const pool = nodePool();
    const odd = { ...pool, metadata: { ...pool.metadata, name } } as unknown as typeof pool;
    const d = decide(request('UPDATE', odd, pool), world(), 'validate');
    expect(d.allowed).toBe(true);
  });

  it('reads mirror sources from state objects whose lists are not lists', () => {
    const policy = { ...defaultPolicy(), disconnected: 'true' as const };
    const hc = hostedCluster({ imageContentSources: { source: 'quay.io' } } as never);
    const idms = {
      apiVersion: 'config.openshift.io/v1',
      kind: 'ImageDigestMirrorSet',
      metadata: { name: 'odd' },
      spec: { imageDigestMirrors: { source: 'quay.io', mirrors: ['m.example/q'] } },
    };
    const d = decide(request('CREATE', nodePool()), world([hc, idms], policy), 'validate');
    expect(d.findings.map((f) => f.rule)).toContain('mirrored');
  });

  it('reports an unknown HostedCluster when spec.clusterName is a deeply nested list', () => {
    let clusterName: unknown = 'x';
    for (let i = 0; i < 50_000; i++) clusterName = [clusterName];
    const pool = nodePool();
    const odd = { ...pool, spec: { ...pool.spec, clusterName } } as unknown as typeof pool;
    const d = decide(request('CREATE', odd), world(), 'validate');
    expect(d.findings.map((f) => f.message)).toContainEqual(
      expect.stringContaining('HostedCluster clusters/ is not known'),
    );
  });
});
