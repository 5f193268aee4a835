// One NodePool change judged by every validating rule.
import type { ReleaseCatalog } from '../catalog/types.js';
import type { NodePool } from '../k8s/objects.js';
import type { Policy } from '../policy/types.js';
import { evaluateExemption } from './exemption.js';
import { poolFacts, type PoolFacts } from './facts.js';
import { RULES } from './rules/index.js';
import type { Observation, PoolChange } from './rules/types.js';
import { toFindings } from './severity.js';
import type { ClusterView, Finding, UserInfo } from './types.js';

export interface PoolChangeInput {
  operation: 'CREATE' | 'UPDATE';
  oldPool?: NodePool;
  newPool: NodePool;
  namespace: string;
  /** The view the old object lived in (its ConfigMaps before the change). */
  before: ClusterView;
  /** The view the new object will live in. */
  after: ClusterView;
  releases: ReleaseCatalog;
  policy: Policy;
  user?: UserInfo;
}

export interface PoolJudgement {
  next: PoolFacts;
  old?: PoolFacts;
  findings: Finding[];
}

export function judgePoolChange(input: PoolChangeInput): PoolJudgement {
  const { policy, releases, namespace } = input;
  const next = poolFacts(input.newPool, namespace, input.after, releases, policy);
  const old =
    input.operation === 'UPDATE' && input.oldPool
      ? poolFacts(input.oldPool, namespace, input.before, releases, policy)
      : undefined;
  const change: PoolChange = { operation: old ? 'UPDATE' : 'CREATE', old, next, policy };
  const before: PoolChange | undefined = old
    ? { operation: 'CREATE', next: old, policy }
    : undefined;

  const observations: Observation[] = [];
  for (const rule of RULES) {
    const found = rule.check(change);
    if (found.length === 0) continue;
    if (!rule.ratchet || !before) {
      observations.push(...found);
      continue;
    }
    const already = new Set(rule.check(before).map((o) => `${o.rule}\u0000${o.message}`));
    for (const o of found) {
      observations.push(already.has(`${o.rule}\u0000${o.message}`) ? ratcheted(o) : o);
    }
  }
  const exemption = evaluateExemption(input.newPool, next.key, input.user, policy);
  if (exemption) observations.push(...exemption.notes);
  const findings = toFindings(observations, policy, exemption?.rules ?? new Set(), next.key);
  return { next, old, findings };
}

/** A problem the old object already had: reported, never a reason to block this edit. */
function ratcheted(o: Observation): Observation {
  return {
    ...o,
    message: `${o.message} (already so before this change, so not blocking it)`,
    forced: 'warn',
  };
}
