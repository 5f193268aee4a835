// The context of `check --kubeconfig|--in-cluster` (an Argo CD PreSync Job): the live cluster as
// it is now, read once, and the releases of every pool the check will judge, fetched before the
// whole batch is judged together.
import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterView } from '../engine/types.js';
import { apiGroup, type HostedCluster, type KubeObject, type NodePool } from '../k8s/objects.js';
import { MirrorPresence } from '../mirror/presence.js';
import { RegistryClients } from '../release/clients.js';
import { LiveReleaseCatalog } from '../release/live-catalog.js';
import { prefetchMirrored } from './mirror-prefetch.js';
import { fetchReleases, readSnapshot } from './snapshot.js';
import { LiveView } from './view.js';

export interface CheckContext {
  cluster: ClusterView;
  releases: LiveReleaseCatalog;
  problems: string[];
  close(): Promise<void>;
}

const HYPERSHIFT = 'hypershift.openshift.io';

export async function checkContext(
  kc: KubeConfig,
  manifests: readonly KubeObject[],
  defaultNamespace: string,
): Promise<CheckContext> {
  const { state, problems } = await readSnapshot(kc);
  const clients = new RegistryClients();
  const releases = new LiveReleaseCatalog({ clients });
  const presence = new MirrorPresence({ clients });
  const nsOf = (o: KubeObject) => o.metadata?.namespace ?? defaultNamespace;
  const given = manifests.filter((o) => apiGroup(o.apiVersion) === HYPERSHIFT);
  const clusters = new Map<string, HostedCluster>();
  for (const hc of given.filter((o) => o.kind === 'HostedCluster')) {
    clusters.set(`${nsOf(hc)}/${hc.metadata?.name ?? ''}`, hc as HostedCluster);
  }
  const clusterOf = (pool: NodePool) => {
    const name = pool.spec?.clusterName ?? '';
    return clusters.get(`${nsOf(pool)}/${name}`) ?? state.hostedCluster(nsOf(pool), name);
  };
  // The new pools, their live versions, and live pools using a ConfigMap the change touches.
  const pools: NodePool[] = [];
  for (const obj of manifests) {
    if (obj.kind === 'NodePool' && apiGroup(obj.apiVersion) === HYPERSHIFT) {
      pools.push(obj as NodePool);
      const live = state.nodePool(nsOf(obj), obj.metadata?.name ?? '');
      if (live) pools.push(live);
    } else if (obj.kind === 'ConfigMap' && apiGroup(obj.apiVersion) === '') {
      pools.push(...state.nodePoolsReferencing(nsOf(obj), obj.metadata?.name ?? ''));
    }
  }
  const secrets = await fetchReleases(kc, releases, pools, clusterOf);
  await Promise.all(
    pools.map((pool) => {
      const pullspec = pool.spec?.release?.image?.trim();
      if (!pullspec) return undefined;
      const hc = clusterOf(pool);
      return prefetchMirrored(presence, releases, state, pullspec, hc, secrets.get(pullspec));
    }),
  );
  return {
    cluster: new LiveView(state, presence),
    releases,
    problems,
    close: () => clients.close(),
  };
}
