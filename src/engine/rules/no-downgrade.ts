import { RHEL9 } from '../../catalog/types.js';
import { isOnRhel10, type PoolFacts } from '../facts.js';
import type { Observation, Rule } from './types.js';

const CEL_MESSAGE =
  'OS stream downgrade from rhel-10 to rhel-9 is not allowed; create a new NodePool instead';

/**
 * A pool on rhel-10 (old effective stream or observed status) must not resolve to rhel-9. This
 * sees what CEL cannot: implicit pools, runc added through a ConfigMap, a release moved back
 * below 5.0. InPlace pools cannot be rolled back, so for them this is always a deny, and so is a
 * new stream that cannot be resolved at all.
 */
export const noDowngrade: Rule = {
  id: 'no-downgrade',
  ratchet: false,
  check({ operation, old, next }) {
    if (operation !== 'UPDATE' || !old || !isOnRhel10(old)) return [];
    // upgradeType is immutable and required; a pool that does not say Replace is treated as
    // InPlace, the case that cannot be undone.
    const replacePool = (next.upgradeType ?? old.upgradeType) === 'Replace';
    const on = onRhel10Because(old);
    if (next.effective.kind === 'stream' && next.effective.stream === RHEL9) {
      return [
        {
          rule: 'no-downgrade',
          message: `${CEL_MESSAGE} (NodePool ${next.key} is on rhel-10: ${on}; ${cause(old, next)})`,
          summary: `rhel-10 → rhel-9 downgrade of ${replacePool ? 'Replace' : 'InPlace'} pool; create a new NodePool`,
          forced: replacePool ? undefined : 'deny',
          replacePool,
        },
      ];
    }
    if (!replacePool && next.effective.kind === 'unknown') {
      const observation: Observation = {
        rule: 'no-downgrade',
        message: `cannot resolve the new OS stream of InPlace NodePool ${next.key}, which is on rhel-10 (${on}): ${next.effective.reason}. An InPlace pool cannot be rolled back, so the change is denied until the stream can be resolved; pin spec.osImageStream.name: rhel-10 or provide the release data`,
        summary: 'new stream of InPlace rhel-10 pool unknown; pin rhel-10 or add release data',
        forced: 'deny',
      };
      return [observation];
    }
    return [];
  },
};

function onRhel10Because(old: PoolFacts): string {
  const parts: string[] = [];
  if (old.explicit === 'rhel-10') parts.push('spec.osImageStream.name is rhel-10');
  else if (old.effective.kind === 'stream' && old.effective.stream === 'rhel-10') {
    parts.push('its release defaults to rhel-10');
  }
  if (old.status === 'rhel-10') parts.push('status.osImageStream.name is rhel-10');
  return parts.join(', ');
}

function cause(old: PoolFacts, next: PoolFacts): string {
  if (next.explicit === RHEL9) return 'the change sets spec.osImageStream.name: rhel-9';
  if (next.runcHyperShift && !old.runcHyperShift) {
    const src = next.runc.containerRuntimeConfig;
    return `runc was added (ConfigMap "${src?.configMap}" ${src?.object}), which makes the release default rhel-9; migrate to crun instead`;
  }
  const version = next.release?.version;
  if (version && version.major < 5) {
    return `spec.release.image ${next.releaseImage} (${version.raw}) is below 5.0, where the default is rhel-9`;
  }
  return 'the new effective stream is rhel-9';
}
