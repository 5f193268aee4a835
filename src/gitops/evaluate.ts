// The GitOps check, pure: a Git change (new manifests, and optionally their base-ref versions)
// judged against the cluster state exactly as the API server would run the two webhooks —
// mutating first, then validating the mutated object.
import { decide } from '../engine/decide.js';
import { judgePoolChange } from '../engine/decide-pool.js';
import type { ReleaseCatalog } from '../catalog/types.js';
import type { ClusterView, Finding, UserInfo } from '../engine/types.js';
import { applyJsonPatch } from '../k8s/patch.js';
import { apiGroup, isObject, type KubeObject, type NodePool } from '../k8s/objects.js';
import type { Policy } from '../policy/types.js';

export interface ManifestObject {
  object: KubeObject;
  /** Where the object was read from (`file` or `file#N` for the Nth document). */
  source: string;
}

export interface CheckInput {
  cluster: ClusterView;
  releases: ReleaseCatalog;
  policy: Policy;
  manifests: readonly ManifestObject[];
  /** The same files at the base Git revision; undefined without --base-ref. */
  base?: readonly KubeObject[];
  /** Namespace for manifests that carry none (the GitOps tool's destination namespace). */
  defaultNamespace: string;
  user?: UserInfo;
  /** The cluster view is the live cluster (old objects are reported as from the cluster). */
  live?: boolean;
}

export type OldFrom = 'base-ref' | 'state' | 'cluster' | 'none';

export interface CheckResult {
  source: string;
  kind: 'NodePool';
  namespace: string;
  name: string;
  operation: 'CREATE' | 'UPDATE';
  oldFrom: OldFrom;
  /** Set when the pool is judged because a ConfigMap it uses changed. */
  via?: string;
  allowed: boolean;
  findings: Finding[];
}

/** Kinds that are context for the NodePools (the rest of the change is not ours to judge). */
const CONTEXT_KINDS = new Set([
  'HostedCluster',
  'ConfigMap',
  'ImageDigestMirrorSet',
  'CustomResourceDefinition',
]);

export function evaluateChange(input: CheckInput): CheckResult[] {
  const placed = input.manifests.map((m) => ({
    ...m,
    object: withNamespace(m.object, input.defaultNamespace),
  }));
  const base = (input.base ?? []).map((o) => withNamespace(o, input.defaultNamespace));
  const context = (objects: readonly KubeObject[]) =>
    objects.filter((o) => CONTEXT_KINDS.has(o.kind ?? ''));
  const before = base.length > 0 ? input.cluster.withOverlay(context(base)) : input.cluster;
  const after = input.cluster.withOverlay(context(placed.map((m) => m.object)));
  const basePools = new Map(base.filter(isNodePool).map((p) => [identity(p), p]));

  const results: CheckResult[] = [];
  const judged = new Set<string>();
  for (const { object, source } of placed) {
    if (!isNodePool(object)) continue;
    const namespace = object.metadata?.namespace ?? input.defaultNamespace;
    const name = object.metadata?.name ?? '';
    judged.add(identity(object));
    const { old, oldFrom } = oldPool(
      object,
      basePools,
      input.cluster,
      input.live ? 'cluster' : 'state',
    );
    results.push(
      judgePool(input, { source, namespace, name, newPool: object, old, oldFrom, before, after }),
    );
  }
  // A changed ConfigMap is part of every pool that uses it, even pools the change does not touch.
  for (const { object, source } of placed) {
    if (object.kind !== 'ConfigMap' || apiGroup(object.apiVersion) !== '') continue;
    const namespace = object.metadata?.namespace ?? input.defaultNamespace;
    for (const pool of after.nodePoolsReferencing(namespace, object.metadata?.name ?? '')) {
      const id = identity(pool);
      if (judged.has(id)) continue;
      judged.add(id);
      results.push(
        judgePool(input, {
          source,
          namespace,
          name: pool.metadata?.name ?? '',
          newPool: pool,
          old: pool,
          oldFrom: input.live ? 'cluster' : 'state',
          before,
          after,
          via: `ConfigMap ${namespace}/${object.metadata?.name ?? ''}`,
        }),
      );
    }
  }
  return results;
}

interface PoolCase {
  source: string;
  namespace: string;
  name: string;
  newPool: NodePool;
  old: NodePool | undefined;
  oldFrom: OldFrom;
  before: ClusterView;
  after: ClusterView;
  via?: string;
}

function judgePool(input: CheckInput, c: PoolCase): CheckResult {
  const operation = c.old ? 'UPDATE' : 'CREATE';
  const mutation = decide(
    {
      uid: 'check',
      kind: { group: 'hypershift.openshift.io', version: 'v1beta1', kind: 'NodePool' },
      operation,
      namespace: c.namespace,
      name: c.name,
      object: c.newPool,
      oldObject: c.old ?? null,
    },
    { policy: input.policy, releases: input.releases, cluster: c.after },
    'mutate',
  );
  const mutated = mutation.patch.length > 0 ? applyJsonPatch(c.newPool, mutation.patch) : c.newPool;
  const validation = judgePoolChange({
    operation,
    oldPool: c.old,
    newPool: mutated,
    namespace: c.namespace,
    before: c.before,
    after: c.after,
    releases: input.releases,
    policy: input.policy,
    user: input.user,
  });
  const findings = [...mutation.findings, ...validation.findings];
  return {
    source: c.source,
    kind: 'NodePool',
    namespace: c.namespace,
    name: c.name,
    operation,
    oldFrom: c.oldFrom,
    ...(c.via ? { via: c.via } : {}),
    allowed: !findings.some((f) => f.severity === 'deny'),
    findings,
  };
}

/** The old object: the base revision's, with the live status from the state when it has one. */
function oldPool(
  pool: NodePool,
  basePools: ReadonlyMap<string, NodePool>,
  cluster: ClusterView,
  clusterIs: 'state' | 'cluster',
): { old: NodePool | undefined; oldFrom: OldFrom } {
  const namespace = pool.metadata?.namespace ?? '';
  const name = pool.metadata?.name ?? '';
  const live = cluster.nodePool(namespace, name);
  const fromBase = basePools.get(identity(pool));
  if (fromBase) {
    // Git holds no status; the nodes' observed stream must still protect against a downgrade.
    return {
      old: live?.status ? { ...fromBase, status: live.status } : fromBase,
      oldFrom: 'base-ref',
    };
  }
  return live ? { old: live, oldFrom: clusterIs } : { old: undefined, oldFrom: 'none' };
}

function isNodePool(obj: KubeObject): obj is NodePool {
  return obj.kind === 'NodePool' && apiGroup(obj.apiVersion) === 'hypershift.openshift.io';
}

function identity(obj: KubeObject): string {
  return `${obj.kind}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

const CLUSTER_SCOPED = new Set([
  'CustomResourceDefinition',
  'ImageDigestMirrorSet',
  'ImageTagMirrorSet',
  'Namespace',
]);

/** Namespaced manifests without a namespace land in the GitOps tool's destination namespace. */
function withNamespace<T extends KubeObject>(obj: T, namespace: string): T {
  if (
    !isObject(obj.metadata) ||
    typeof obj.metadata.namespace === 'string' ||
    CLUSTER_SCOPED.has(obj.kind ?? '')
  ) {
    return obj;
  }
  return { ...obj, metadata: { ...obj.metadata, namespace } };
}
