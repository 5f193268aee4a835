// Everything the rules need to know about one NodePool in one view of the cluster, computed once
// per decision so each rule is a small predicate over plain data.
import type { ReleaseInfo, StreamName } from '../catalog/types.js';
import type { ConfigMap, HostedCluster, NodePool } from '../k8s/objects.js';
import type { Policy } from '../policy/types.js';
import { detectRunc, type ConfigMapLike, type RuncDetection } from '../runtime/detect.js';
import { resolveEffectiveStream, type Resolution } from './stream.js';
import type { ClusterView } from './types.js';
import type { ReleaseCatalog } from '../catalog/types.js';

export interface PoolFacts {
  pool: NodePool;
  /** `namespace/name`. */
  key: string;
  namespace: string;
  explicit: string | undefined;
  status: StreamName | undefined;
  upgradeType: string | undefined;
  releaseImage: string | undefined;
  release: ReleaseInfo | undefined;
  hostedCluster: HostedCluster | undefined;
  /** The ConfigMaps named in `spec.config` that the view has, in spec order. */
  configMaps: readonly ConfigMapLike[];
  /** Names in `spec.config` whose ConfigMap is not in the view. */
  missingConfigMaps: readonly string[];
  runc: RuncDetection;
  /** runc as HyperShift sees it (ContainerRuntimeConfig only): decides the implicit default. */
  runcHyperShift: boolean;
  /** runc by either path: what the nodes would really be asked to run. */
  runcAny: boolean;
  effective: Resolution;
  crdHasField: boolean;
  view: ClusterView;
}

export function poolFacts(
  pool: NodePool,
  namespace: string,
  view: ClusterView,
  releases: ReleaseCatalog,
  policy: Policy,
): PoolFacts {
  const spec = pool.spec ?? {};
  const explicit = stringOrUndefined(spec.osImageStream?.name);
  const releaseImage = stringOrUndefined(spec.release?.image)?.trim() || undefined;
  const release = releaseImage ? releases.release(releaseImage) : undefined;
  const clusterName = stringOrUndefined(spec.clusterName);
  const hostedCluster = clusterName ? view.hostedCluster(namespace, clusterName) : undefined;

  const configMaps: ConfigMapLike[] = [];
  const missing: string[] = [];
  for (const ref of Array.isArray(spec.config) ? spec.config : []) {
    const name = stringOrUndefined(ref?.name);
    if (!name) continue;
    const cm: ConfigMap | undefined = view.configMap(namespace, name);
    if (cm) configMaps.push({ name, data: cm.data });
    else missing.push(name);
  }
  const runc = detectRunc(configMaps);
  const runcHyperShift = runc.containerRuntimeConfig !== undefined;
  const runcAny = runcHyperShift || runc.machineConfig !== undefined;

  return {
    pool,
    // Only a string: any other value would be stringified here, and a deeply nested array
    // overflows the stack in Array.prototype.join.
    key: `${namespace}/${stringOrUndefined(pool.metadata?.name) ?? ''}`,
    namespace,
    explicit,
    status: stringOrUndefined(pool.status?.osImageStream?.name),
    upgradeType: stringOrUndefined(spec.management?.upgradeType),
    releaseImage,
    release,
    hostedCluster,
    configMaps,
    missingConfigMaps: missing,
    runc,
    runcHyperShift,
    runcAny,
    effective: resolveEffectiveStream({
      explicit,
      version: release?.version,
      usesRunc: explicit === 'rhel-10' ? runcAny : runcHyperShift,
      minimum: policy.rhel10Minimum,
      releaseImage,
    }),
    crdHasField: view.nodePoolCrdHasOsImageStream(),
    view,
  };
}

/**
 * An existing pool is on rhel-10 when its old effective stream or its observed stream says so —
 * or when it asked for rhel-10 explicitly: upstream CEL forbids leaving an explicit rhel-10 even
 * when the release could not honour it.
 */
export function isOnRhel10(old: PoolFacts): boolean {
  return (
    old.explicit === 'rhel-10' ||
    (old.effective.kind === 'stream' && old.effective.stream === 'rhel-10') ||
    old.status === 'rhel-10'
  );
}

export function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
