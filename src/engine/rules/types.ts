import type { Policy } from '../../policy/types.js';
import type { PoolFacts } from '../facts.js';
import type { RuleId, Severity } from '../types.js';

/** One NodePool change: a CREATE (no old) or an UPDATE (old and next in their own views). */
export interface PoolChange {
  operation: 'CREATE' | 'UPDATE';
  old?: PoolFacts;
  next: PoolFacts;
  policy: Policy;
}

/** A rule's observation before the policy turns it into a deny or a warning. */
export interface Observation {
  rule: RuleId;
  message: string;
  summary: string;
  /**
   * A severity the policy cannot change: `deny` for safety rules that can be neither relaxed nor
   * exempted; `warn` for notes that must always be shown (an honoured exemption).
   */
  forced?: Severity;
  /** `no-downgrade` on a Replace pool: the policy's replace action applies. */
  replacePool?: boolean;
}

export interface Rule {
  id: RuleId;
  /**
   * Static rules judge only the new object. On UPDATE an observation that the old object already
   * had is downgraded to a warning, as Kubernetes ratchets validation: an unrelated edit (scaling)
   * of a pool that was already in that state must not be blocked by it.
   */
  ratchet: boolean;
  check(change: PoolChange): Observation[];
}
