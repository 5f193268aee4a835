// The built-in policy: DESIGN.md's default-actions table.
import type { Action, ConfigurableRule, Policy } from './types.js';

export const DEFAULT_SOURCE = 'built-in default';

export const DEFAULT_ACTIONS: Readonly<Record<ConfigurableRule, Action>> = Object.freeze({
  'known-stream': 'deny',
  'release-minimum': 'deny',
  'boot-image': 'deny',
  'no-removal': 'deny',
  mirrored: 'deny',
  'inplace-rebase': 'warn',
  'implicit-flip': 'warn',
  'field-supported': 'warn',
  exemption: 'warn',
});

export const DEFAULT_RHEL10_MINIMUM = '5.0';

export function defaultPolicy(): Policy {
  return Object.freeze({
    source: DEFAULT_SOURCE,
    actions: Object.freeze({ ...DEFAULT_ACTIONS }),
    noDowngradeReplace: 'deny',
    rhel10Minimum: Object.freeze({ major: 5, minor: 0, raw: DEFAULT_RHEL10_MINIMUM }),
    onMissingContext: 'warn',
    pinOnCreate: true,
    disconnected: 'auto',
    exemptions: Object.freeze({ users: Object.freeze([]), groups: Object.freeze([]) }),
  });
}
