import { RHEL10 } from '../../catalog/types.js';
import { isOnRhel10 } from '../facts.js';
import type { Rule } from './types.js';

/** Allowed, but a person should know: live nodes are rebased across a major OS version. */
export const inplaceRebase: Rule = {
  id: 'inplace-rebase',
  ratchet: false,
  check({ operation, old, next }) {
    if (operation !== 'UPDATE' || !old || isOnRhel10(old)) return [];
    if ((next.upgradeType ?? old.upgradeType) !== 'InPlace') return [];
    if (next.effective.kind !== 'stream' || next.effective.stream !== RHEL10) return [];
    return [
      {
        rule: 'inplace-rebase',
        message: `InPlace NodePool ${next.key} moves from rhel-9 to rhel-10: its live nodes will be rebased across a major OS version, which cannot be rolled back (no downgrade from rhel-10). Consider a new Replace NodePool on rhel-10 and moving workloads instead`,
        summary: 'InPlace rhel-9 → rhel-10 rebase of live nodes; no rollback possible',
      },
    ];
  },
};
