import { embeddedCatalogDescription } from '../../catalog/embedded.js';
import { shorten } from '../text.js';
import type { Observation, Rule } from './types.js';

/** Says what was missing, or came from the embedded catalog, when the engine decided. */
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
    const release = next.release;
    if (release?.source === 'embedded') {
      const version = release.version
        ? `version ${release.version.raw} from its tag`
        : 'no version (no tag to read it from)';
      observations.push({
        rule: 'catalog',
        message: `release ${release.pullspec} is not in the state: ${version}, boot images from the ${embeddedCatalogDescription()}, which may differ from the payload's; add the release data to the state with \`streamguard release fetch\``,
        summary: 'release not in the state: decided on its tag and the embedded catalog',
      });
    }
    if (next.missingConfigMaps.length > 0) {
      const names = next.missingConfigMaps.map((n) => `"${n}"`).join(', ');
      observations.push({
        rule: 'context',
        message: `ConfigMap ${names} named in spec.config of NodePool ${next.key} is not known, so its runtime settings were not checked (HyperShift skips missing ConfigMaps too); add it to the state`,
        summary: `spec.config ConfigMap ${shorten(names, 50)} not found: runtime not checked`,
      });
    }
    return observations;
  },
};
