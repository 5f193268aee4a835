import { RHEL10 } from '../../catalog/types.js';
import { compareVersions } from '../../catalog/version.js';
import type { Rule } from './types.js';

/** Explicit rhel-10 needs a release at or above the policy's minimum (5.0 upstream). */
export const releaseMinimum: Rule = {
  id: 'release-minimum',
  ratchet: true,
  check({ next, policy }) {
    const version = next.release?.version;
    if (next.explicit !== RHEL10 || !version) return [];
    const minimum = policy.rhel10Minimum;
    if (compareVersions(version, minimum) >= 0) return [];
    return [
      {
        rule: 'release-minimum',
        message: `stream "rhel-10" requires OCP >= ${minimum.raw}, but release version is ${version.raw} (${next.releaseImage}); use rhel-9 on this release, or move spec.release.image to ${minimum.raw} or later`,
        summary: `rhel-10 needs OCP >= ${minimum.raw}; release is ${version.raw}`,
      },
    ];
  },
};
