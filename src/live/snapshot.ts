// The cluster read once, for `check --kubeconfig`: every resource the engine reads, listed in
// parallel and prepared as the informers prepare them, then the releases the checked pools use,
// fetched from their registries with their HostedClusters' pull secrets.
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeError } from '../kube/errors.js';
import { listAll } from '../kube/list.js';
import { CONTEXT_RESOURCES } from '../kube/resources.js';
import { getSecret } from '../kube/secrets.js';
import type { HostedCluster, KubeObject, NodePool } from '../k8s/objects.js';
import { pullSecretFromSecret, PullSecretError, type PullSecret } from '../release/pull-secret.js';
import type { ClusterState } from '../state/index.js';
import { buildState } from './cluster.js';
import { prepareForEngine } from './prepare.js';
import { secretKey } from './prefetch.js';
import type { FetchingReleaseCatalog } from './releases.js';

export interface Snapshot {
  state: ClusterState;
  /** Objects refused (a malformed mirror inventory), as messages. */
  problems: string[];
}

export async function readSnapshot(kc: KubeConfig): Promise<Snapshot> {
  const problems: string[] = [];
  const lists = await Promise.all(
    CONTEXT_RESOURCES.map(async (resource) => {
      try {
        const { items } = await listAll(kc, resource, (obj) =>
          prepareForEngine(obj, (p) => problems.push(p)),
        );
        return items;
      } catch (err) {
        if (resource.optional && err instanceof KubeError && err.status === 404) return [];
        throw err;
      }
    }),
  );
  return { state: buildState(lists.flat()), problems };
}

/**
 * Fetches the release of every given pool (pull secret from its HostedCluster, read by GET) and
 * waits for all; a release that cannot be fetched falls back to the embedded catalog, and the
 * engine says so in its findings.
 */
export async function fetchReleases(
  kc: KubeConfig,
  releases: FetchingReleaseCatalog,
  pools: readonly NodePool[],
  clusterOf: (pool: NodePool) => HostedCluster | undefined,
): Promise<Map<string, PullSecret | undefined>> {
  const secrets = new Map<string, Promise<PullSecret | undefined>>();
  const pullSecretOf = (hc: HostedCluster | undefined) => {
    const key = secretKey(hc);
    if (!key) return Promise.resolve(undefined);
    let secret = secrets.get(key);
    if (!secret) {
      const [namespace = '', name = ''] = key.split('/');
      // A missing, forbidden or malformed pull secret: fetch without credentials (public
      // registries still answer; a private one fails, and the engine says the release is unknown).
      secret = getSecret(kc, namespace, name).then(
        (obj: KubeObject) => {
          try {
            return pullSecretFromSecret(obj);
          } catch (err) {
            if (err instanceof PullSecretError) return undefined;
            throw err;
          }
        },
        (err: unknown) => {
          if (err instanceof KubeError && (err.status === 404 || err.status === 403))
            return undefined;
          throw err;
        },
      );
      secrets.set(key, secret);
    }
    return secret;
  };
  const used = new Map<string, PullSecret | undefined>();
  await Promise.all(
    pools.map(async (pool) => {
      const pullspec = pool.spec?.release?.image?.trim();
      if (!pullspec) return;
      const secret = await pullSecretOf(clusterOf(pool));
      used.set(pullspec, secret);
      await releases.whenFetched(pullspec, secret);
    }),
  );
  return used;
}
