// The informer caches behind the engine's state: ConfigMap churn that cannot change a decision
// does not rebuild the state; a change to a ConfigMap a NodePool names does.
import { afterEach, describe, expect, it } from 'vitest';
import { kubeConfigFrom } from '../../src/kube/config.js';
import { LiveCluster } from '../../src/live/cluster.js';
import type { KubeObject } from '../kube-api/server.js';
import { exampleState, startClusterApi, until } from './support.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const configMap = (name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'clusters' },
  data,
});

describe('LiveCluster', () => {
  it('rebuilds for ConfigMaps a NodePool names, not for the others', async () => {
    const api = await startClusterApi([
      ...exampleState('hostedcluster.yaml'),
      ...exampleState('nodepools.yaml'),
      ...exampleState('configmaps.yaml'),
    ]);
    cleanups.push(() => api.close());
    let rebuilds = 0;
    const live = new LiveCluster({
      kc: kubeConfigFrom({ kubeconfig: api.kubeconfigPath }),
      events: { rebuilt: () => rebuilds++ },
    });
    live.start();
    cleanups.push(() => live.stop());
    await live.whenSynced();
    const before = rebuilds;

    for (let i = 0; i < 20; i++) api.create(configMap(`other-${i}`, { key: String(i) }));
    await until('the other ConfigMaps cached', () =>
      live.objects().filter((o) => o.metadata?.name?.startsWith('other-')).length === 20 ? 1 : 0,
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(rebuilds).toBe(before);
    expect(live.state()?.configMap('clusters', 'other-0')).toBeUndefined();

    // workers-inplace names workers-runtime: its change reaches the state.
    const [runtime] = exampleState('configmaps.yaml');
    api.update({ ...runtime, data: { config: '# changed' } } as KubeObject);
    await until(
      'the change in the state',
      () => live.state()?.configMap('clusters', 'workers-runtime')?.data?.config === '# changed',
    );
    expect(rebuilds).toBeGreaterThan(before);
  });
});
