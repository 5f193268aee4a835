import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ConfigMap, KubeObject, NodePool } from '../k8s/objects.js';
import { StateError } from './errors.js';
import { ClusterState } from './index.js';
import { parseManifests } from './parse.js';

const upstream = (name: string) =>
  parseManifests(
    readFileSync(new URL(`../../test/fixtures/upstream/${name}`, import.meta.url), 'utf8'),
    name,
  );

const yaml = (text: string, file = 'state.yaml') => parseManifests(text, file);

function pool(name: string, configs: string[], namespace = 'clusters'): NodePool {
  return {
    apiVersion: 'hypershift.openshift.io/v1beta1',
    kind: 'NodePool',
    metadata: { name, namespace },
    spec: { clusterName: 'example', config: configs.map((c) => ({ name: c })) },
  };
}

function configMap(name: string, data: Record<string, string> = {}, namespace = 'clusters') {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data } as ConfigMap;
}

function inventory(name: string, digests: string): ConfigMap {
  const cm = configMap(name, { digests }, 'streamguard');
  cm.metadata = { ...cm.metadata, annotations: { 'streamguard.io/mirror-inventory': 'mirror.io' } };
  return cm;
}

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const names = (pools: readonly KubeObject[]) => pools.map((p) => p.metadata?.name);

describe('ClusterState', () => {
  it('indexes the upstream HostedCluster and NodePool', () => {
    const state = new ClusterState(upstream('hypershift-sample-aws-hostedcluster-nodepool.yaml'));
    expect(state.hostedCluster('clusters', 'example')?.spec?.platform?.aws?.region).toBe(
      'us-east-1',
    );
    expect(state.nodePool('clusters', 'example-fakeName')?.spec?.arch).toBe('amd64');
    expect(names(state.nodePools())).toEqual(['example-fakeName']);
    expect(state.hostedCluster('other', 'example')).toBeUndefined();
    expect(state.objects()).toHaveLength(4);
  });

  it('indexes NodePools by the ConfigMaps they reference, sorted, once each, per namespace', () => {
    const state = new ClusterState([
      pool('zeta', ['shared']),
      pool('alpha', ['shared', 'shared', 'own']),
      pool('mid', []),
      pool('elsewhere', ['shared'], 'other'),
      configMap('shared'),
    ]);
    expect(names(state.nodePoolsReferencing('clusters', 'shared'))).toEqual(['alpha', 'zeta']);
    expect(names(state.nodePoolsReferencing('clusters', 'own'))).toEqual(['alpha']);
    expect(names(state.nodePoolsReferencing('other', 'shared'))).toEqual(['elsewhere']);
    expect(state.nodePoolsReferencing('clusters', 'none')).toEqual([]);
    expect(state.configMap('clusters', 'shared')?.metadata?.name).toBe('shared');
    expect(names(state.nodePools())).toEqual(['alpha', 'mid', 'zeta', 'elsewhere']);
  });

  it('reads spec.osImageStream support from the installed NodePool CRD', () => {
    const of = (file: string) => new ClusterState(upstream(file)).nodePoolCrdHasOsImageStream();
    expect(of('hypershift-nodepools-Default.crd.yaml')).toBe(false);
    expect(of('hypershift-nodepools-TechPreviewNoUpgrade.crd.yaml')).toBe(true);
    expect(new ClusterState([]).nodePoolCrdHasOsImageStream()).toBe(true);
  });

  it('does not count the field when v1beta1 is not served', () => {
    const [crd] = upstream('hypershift-nodepools-TechPreviewNoUpgrade.crd.yaml') as {
      spec: { versions: { served: boolean }[] };
    }[];
    for (const version of crd?.spec.versions ?? []) version.served = false;
    expect(new ClusterState([crd as KubeObject]).nodePoolCrdHasOsImageStream()).toBe(false);
  });

  it('lists ImageDigestMirrorSets sorted by name', () => {
    const idms = (name: string) => ({
      apiVersion: 'config.openshift.io/v1',
      kind: 'ImageDigestMirrorSet',
      metadata: { name },
      spec: { imageDigestMirrors: [] },
    });
    const state = new ClusterState([idms('b'), idms('a')]);
    expect(names(state.imageDigestMirrorSets())).toEqual(['a', 'b']);
  });

  it('answers mirroredDigest from the union of every inventory', () => {
    const state = new ClusterState([
      inventory('one', `${digest('a')}\n\n  ${digest('b')}  \n`),
      inventory('two', digest('c')),
    ]);
    expect(state.mirroredDigest(digest('a'))).toBe(true);
    expect(state.mirroredDigest(digest('b'))).toBe(true);
    expect(state.mirroredDigest(digest('c'))).toBe(true);
    expect(state.mirroredDigest(digest('d'))).toBe(false);
  });

  it('rejects a bad inventory line, naming the file and line', () => {
    const text = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: inv',
      '  namespace: streamguard',
      '  annotations: {streamguard.io/mirror-inventory: mirror.io}',
      'data:',
      `  digests: "${digest('a')}\\nsha256:ABC\\n"`,
    ].join('\n');
    expect(() => new ClusterState(yaml(text, 'inv.yaml'))).toThrow(
      'ConfigMap streamguard/inv (inv.yaml: document 1): data.digests line 2: "sha256:ABC" is not a sha256:<64 lowercase hex> digest',
    );
    const empty = inventory('inv', '');
    delete empty.data;
    expect(() => new ClusterState([empty])).toThrow(/needs data\.digests/);
  });

  it('rejects the same object twice, naming both files', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: n}\n';
    const run = () => new ClusterState([...yaml(text, 'one.yaml'), ...yaml(text, 'two.yaml')]);
    expect(run).toThrow(StateError);
    expect(run).toThrow(
      'ConfigMap n/a (two.yaml: document 1): duplicate object: also defined in one.yaml: document 1',
    );
  });

  it('tells objects apart by group, kind, namespace and name, not by version', () => {
    const v1alpha1 = { ...pool('p', []), apiVersion: 'hypershift.openshift.io/v1alpha1' };
    expect(() => new ClusterState([pool('p', []), v1alpha1])).toThrow(/duplicate object/);
    const sameName = [configMap('x'), configMap('x', {}, 'other'), pool('x', [])];
    expect(() => new ClusterState(sameName)).not.toThrow();
  });

  it('needs a name and namespace on the objects it indexes', () => {
    const noNamespace = yaml('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n', 'a.yaml');
    expect(() => new ClusterState(noNamespace)).toThrow(
      'ConfigMap a (a.yaml: document 1): needs metadata.name and metadata.namespace',
    );
    // Kinds it does not index may be cluster-scoped or unnamed.
    expect(() => new ClusterState(yaml('apiVersion: v1\nkind: Namespace\n'))).not.toThrow();
  });

  it('keeps release data out of the cluster view', () => {
    const release = configMap('coreos-bootimages', {}, 'openshift-machine-config-operator');
    release.metadata = {
      ...release.metadata,
      annotations: { 'streamguard.io/release-image': 'quay.io/r:5.0.0' },
    };
    const state = new ClusterState([release, { ...release }]);
    expect(state.configMap('openshift-machine-config-operator', 'coreos-bootimages')).toBe(
      undefined,
    );
    expect(state.objects()).toEqual([]);
  });

  describe('withOverlay', () => {
    const base = () =>
      new ClusterState([
        pool('a', ['old']),
        pool('b', ['old']),
        configMap('old', { config: 'v1' }),
        inventory('inv', digest('a')),
      ]);

    it('replaces and adds objects in a new view, leaving the base as it was', () => {
      const state = base();
      const view = state.withOverlay([pool('a', ['new']), configMap('old', { config: 'v2' })]);
      expect(names(view.nodePoolsReferencing('clusters', 'old'))).toEqual(['b']);
      expect(names(view.nodePoolsReferencing('clusters', 'new'))).toEqual(['a']);
      expect(view.configMap('clusters', 'old')?.data?.config).toBe('v2');
      expect(view.nodePool('clusters', 'a')?.spec?.config).toEqual([{ name: 'new' }]);
      expect(view.objects()).toHaveLength(4);

      expect(names(state.nodePoolsReferencing('clusters', 'old'))).toEqual(['a', 'b']);
      expect(state.nodePoolsReferencing('clusters', 'new')).toEqual([]);
      expect(state.configMap('clusters', 'old')?.data?.config).toBe('v1');
    });

    it('adds a pool into the sorted referencing list', () => {
      const view = base().withOverlay([pool('aa', ['old'])]);
      expect(names(view.nodePoolsReferencing('clusters', 'old'))).toEqual(['a', 'aa', 'b']);
      expect(names(view.nodePools())).toEqual(['a', 'aa', 'b']);
    });

    it('recomputes mirrored digests when an inventory is replaced', () => {
      const state = base();
      const view = state.withOverlay([inventory('inv', digest('b'))]);
      expect(view.mirroredDigest(digest('a'))).toBe(false);
      expect(view.mirroredDigest(digest('b'))).toBe(true);
      expect(state.mirroredDigest(digest('a'))).toBe(true);
      const plain = state.withOverlay([configMap('inv', {}, 'streamguard')]);
      expect(plain.mirroredDigest(digest('a'))).toBe(false);
    });

    it('replaces the NodePool CRD', () => {
      const [crd] = upstream('hypershift-nodepools-Default.crd.yaml');
      const view = new ClusterState([]).withOverlay([crd as KubeObject]);
      expect(view.nodePoolCrdHasOsImageStream()).toBe(false);
      const [tech] = upstream('hypershift-nodepools-TechPreviewNoUpgrade.crd.yaml');
      expect(view.withOverlay([tech as KubeObject]).nodePoolCrdHasOsImageStream()).toBe(true);
    });

    it('stacks: an overlay of an overlay sees both', () => {
      const view = base()
        .withOverlay([pool('c', ['old'])])
        .withOverlay([pool('a', [])]);
      expect(names(view.nodePoolsReferencing('clusters', 'old'))).toEqual(['b', 'c']);
    });

    it('rejects the same object twice within one overlay', () => {
      expect(() => base().withOverlay([pool('x', []), pool('x', ['old'])])).toThrow(
        /NodePool clusters\/x: duplicate object: also defined in an object given in memory/,
      );
    });
  });
});
