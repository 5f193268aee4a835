// What the live cache keeps of each object: ConfigMaps reduced to what the engine reads, bad
// mirror inventories refused (not fatal), and a ClusterState built from the result that
// answers the engine exactly as one built from the full objects.
import { describe, expect, it } from 'vitest';
import { ANNOTATIONS } from '../../src/engine/types.js';
import type { ConfigMap, KubeObject } from '../../src/k8s/objects.js';
import { buildState } from '../../src/live/cluster.js';
import { prepareForEngine } from '../../src/live/prepare.js';
import { ClusterState } from '../../src/state/index.js';
import { exampleState } from './support.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

function prepared(obj: KubeObject): { obj: KubeObject; problems: string[] } {
  const problems: string[] = [];
  return { obj: prepareForEngine(obj, (p) => problems.push(p)), problems };
}

describe('prepareForEngine', () => {
  it('keeps only the config key of a ConfigMap, and no labels or foreign annotations', () => {
    const { obj, problems } = prepared({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'workers-runtime',
        namespace: 'clusters',
        resourceVersion: '7',
        labels: { app: 'x' },
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":true}' },
      },
      data: { config: 'kind: ContainerRuntimeConfig', 'ca-bundle.crt': 'x'.repeat(10_000) },
      binaryData: { blob: 'AAAA' },
    } as ConfigMap);
    expect(problems).toEqual([]);
    expect(obj).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'workers-runtime',
        namespace: 'clusters',
        resourceVersion: '7',
        uid: undefined,
      },
      data: { config: 'kind: ContainerRuntimeConfig' },
    });
  });

  it('leaves a name-only stub of a ConfigMap without a config key', () => {
    const { obj } = prepared({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kube-root-ca.crt', namespace: 'clusters' },
      data: { 'ca.crt': 'PEM' },
    } as ConfigMap);
    expect(obj).not.toHaveProperty('data');
    expect(obj.metadata?.name).toBe('kube-root-ca.crt');
  });

  it('keeps a mirror inventory, and refuses a malformed one without failing', () => {
    const inventory = (digests: string) =>
      ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'mirror-inventory',
          namespace: 'clusters',
          annotations: { [ANNOTATIONS.mirrorInventory]: 'mirror.example.com:8443', other: 'x' },
        },
        data: { digests, 'images.json': '[]' },
      }) as ConfigMap;
    const good = prepared(inventory(`${DIGEST}\n`));
    expect(good.problems).toEqual([]);
    expect(good.obj).toMatchObject({
      metadata: { annotations: { [ANNOTATIONS.mirrorInventory]: 'mirror.example.com:8443' } },
      data: { digests: `${DIGEST}\n` },
    });
    expect(buildState([good.obj]).mirroredDigest(DIGEST)).toBe(true);

    const bad = prepared(inventory('not-a-digest\n'));
    expect(bad.problems).toHaveLength(1);
    expect(bad.problems[0]).toContain('data.digests line 1');
    expect(bad.problems[0]).toContain('ignored until it is fixed');
    // The refused inventory no longer counts, and the view still builds.
    expect(buildState([bad.obj]).mirroredDigest(DIGEST)).toBe(false);
  });

  it('drops kubectl last-applied-configuration from other objects and keeps the rest', () => {
    const [pool] = exampleState('nodepools.yaml');
    if (!pool) throw new Error('no pool');
    const annotated = {
      ...pool,
      metadata: {
        ...(pool.metadata as object),
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': '{}',
          [ANNOTATIONS.exempt]: 'boot-image',
        },
      },
    } as KubeObject;
    const { obj } = prepared(annotated);
    expect(obj.metadata?.annotations).toEqual({ [ANNOTATIONS.exempt]: 'boot-image' });
    expect((obj as { spec?: unknown }).spec).toEqual((pool as { spec?: unknown }).spec);
  });

  it('gives the engine the same answers as the full objects', () => {
    const full = [
      ...exampleState('hostedcluster.yaml'),
      ...exampleState('nodepools.yaml'),
      ...exampleState('configmaps.yaml'),
    ] as KubeObject[];
    const trimmed = buildState(full.map((o) => prepared(o).obj));
    const original = new ClusterState(full);
    expect(trimmed.nodePools()).toEqual(original.nodePools());
    expect(trimmed.hostedCluster('clusters', 'example')).toEqual(
      original.hostedCluster('clusters', 'example'),
    );
    expect(trimmed.configMap('clusters', 'workers-runtime')?.data).toEqual(
      original.configMap('clusters', 'workers-runtime')?.data,
    );
    expect(trimmed.nodePoolsReferencing('clusters', 'workers-runtime')).toEqual(
      original.nodePoolsReferencing('clusters', 'workers-runtime'),
    );
  });
});
