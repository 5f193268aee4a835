// The engine's entry point: an admission request and its context in, a decision out. Pure: no
// I/O, no clock; every front end (webhook, review, check) calls this one function.
import { isObject, type ConfigMap, type NodePool } from '../k8s/objects.js';
import { judgePoolChange } from './decide-pool.js';
import { poolFacts } from './facts.js';
import { pinOnCreate, stickyDefault } from './mutate.js';
import type { AdmissionRequestLike, Decision, DecisionContext, Finding } from './types.js';

export type Webhook = 'validate' | 'mutate';

const ALLOW: Decision = { allowed: true, findings: [], patch: [] };

export function decide(
  request: AdmissionRequestLike,
  ctx: DecisionContext,
  webhook: Webhook,
): Decision {
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return ALLOW;
  // Status is the controller's to write; a scale carries no stream. Neither is ours to judge.
  if (request.subResource) return ALLOW;
  const { group, kind } = request.kind;
  if (group === 'hypershift.openshift.io' && kind === 'NodePool') {
    return webhook === 'mutate' ? mutateNodePool(request, ctx) : validateNodePool(request, ctx);
  }
  if (group === '' && kind === 'ConfigMap' && webhook === 'validate') {
    return validateConfigMap(request, ctx);
  }
  return ALLOW;
}

function namespaceOf(request: AdmissionRequestLike): string {
  const fromObject = request.object?.metadata?.namespace;
  return request.namespace || (typeof fromObject === 'string' ? fromObject : '');
}

function asNodePool(value: unknown): NodePool | undefined {
  return isObject(value) ? (value as NodePool) : undefined;
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function validateNodePool(request: AdmissionRequestLike, ctx: DecisionContext): Decision {
  const newPool = asNodePool(request.object);
  if (!newPool) return ALLOW;
  const { findings } = judgePoolChange({
    operation: request.operation === 'UPDATE' ? 'UPDATE' : 'CREATE',
    oldPool: asNodePool(request.oldObject),
    newPool,
    namespace: namespaceOf(request),
    before: ctx.cluster,
    after: ctx.cluster,
    releases: ctx.releases,
    policy: ctx.policy,
    user: request.userInfo,
  });
  return verdict(findings);
}

function mutateNodePool(request: AdmissionRequestLike, ctx: DecisionContext): Decision {
  const newPool = asNodePool(request.object);
  if (!newPool) return ALLOW;
  const next = poolFacts(newPool, namespaceOf(request), ctx.cluster, ctx.releases, ctx.policy);
  const oldPool = asNodePool(request.oldObject);
  const mutation =
    request.operation === 'CREATE'
      ? pinOnCreate(next, ctx.policy)
      : oldPool
        ? stickyDefault(oldPool, next)
        : { patch: [], findings: [] };
  // The mutating webhook never denies: denials are the validating webhook's.
  return { allowed: true, findings: mutation.findings, patch: mutation.patch };
}

/** A ConfigMap named in NodePools' spec.config is part of them: judged as an UPDATE of each. */
function validateConfigMap(request: AdmissionRequestLike, ctx: DecisionContext): Decision {
  const cm = request.object as ConfigMap | null | undefined;
  const name = request.name || stringOr(cm?.metadata?.name);
  const namespace = namespaceOf(request);
  if (!isObject(cm) || !name) return ALLOW;
  const pools = ctx.cluster.nodePoolsReferencing(namespace, name);
  if (pools.length === 0) return ALLOW;
  // The view's index is keyed by namespace/name, which a CREATE request may carry only outside
  // the object; the ConfigMap is placed under the identity the API server gave it.
  const placed = (obj: ConfigMap): ConfigMap => ({
    ...obj,
    kind: 'ConfigMap',
    apiVersion: 'v1',
    metadata: { ...obj.metadata, name, namespace },
  });
  const old = request.oldObject;
  const before = isObject(old) ? ctx.cluster.withOverlay([placed(old as ConfigMap)]) : ctx.cluster;
  const after = ctx.cluster.withOverlay([placed(cm)]);
  const findings: Finding[] = [];
  for (const pool of pools) {
    const judged = judgePoolChange({
      operation: 'UPDATE',
      oldPool: pool,
      newPool: pool,
      namespace,
      before,
      after,
      releases: ctx.releases,
      policy: ctx.policy,
      user: request.userInfo,
    });
    const prefix = `NodePool ${judged.next.key} (uses ConfigMap ${namespace}/${name}): `;
    for (const f of judged.findings) findings.push({ ...f, message: prefix + f.message });
  }
  return verdict(findings);
}

function verdict(findings: Finding[]): Decision {
  return { allowed: !findings.some((f) => f.severity === 'deny'), findings, patch: [] };
}
