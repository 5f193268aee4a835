import type { Observation, Rule } from './types.js';

/** Says what was missing when the engine had to decide without it. */
export const context: Rule = {
  id: 'context',
  ratchet: true,
  check({ next }) {
    const observations: Observation[] = [];
    if (next.effective.kind === 'unknown') {
      observations.push({
        rule: 'context',
        message: `cannot resolve the OS stream of NodePool ${next.key}: ${next.effective.reason}`,
        summary: 'OS stream unresolved: release version unknown',
      });
    }
    if (next.missingConfigMaps.length > 0) {
      const names = next.missingConfigMaps.map((n) => `"${n}"`).join(', ');
      observations.push({
        rule: 'context',
        message: `ConfigMap ${names} named in spec.config of NodePool ${next.key} is not known, so its runtime settings were not checked (HyperShift skips missing ConfigMaps too); add it to the state`,
        summary: `spec.config ConfigMap ${names.slice(0, 50)} not found: runtime not checked`,
      });
    }
    return observations;
  },
};
