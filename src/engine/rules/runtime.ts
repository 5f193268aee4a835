import { RHEL10 } from '../../catalog/types.js';
import type { RuncSource } from '../../runtime/detect.js';
import type { Rule } from './types.js';

/**
 * RHEL 10 ships no runc. HyperShift only looks at ContainerRuntimeConfigs, so an implicit pool
 * with a MachineConfig CRI-O drop-in still resolves to rhel-10 and the MCO fails later: both
 * paths are checked here, and the rule can be neither relaxed nor exempted.
 */
export const runtime: Rule = {
  id: 'runtime',
  ratchet: false,
  check({ next }) {
    if (!next.runcAny) return [];
    const explicit = next.explicit === RHEL10;
    const effective = next.effective.kind === 'stream' && next.effective.stream === RHEL10;
    if (!explicit && !effective) return [];
    const where = [next.runc.containerRuntimeConfig, next.runc.machineConfig]
      .filter((s): s is RuncSource => s !== undefined)
      .map(describe)
      .join('; ');
    const how = explicit
      ? 'spec.osImageStream.name is rhel-10'
      : 'the release defaults this pool to rhel-10 (HyperShift only checks ContainerRuntimeConfigs; the MCO will refuse to render it)';
    return [
      {
        rule: 'runtime',
        message: `stream "rhel-10" is incompatible with runc: RHEL 10 does not ship runc (${how}; runc set by ${where}). Migrate the runtime to crun, or pin spec.osImageStream.name: rhel-9`,
        summary: 'rhel-10 with runc: RHEL 10 ships no runc; use crun or rhel-9',
        forced: 'deny',
      },
    ];
  },
};

function describe(source: RuncSource): string {
  return `ConfigMap "${source.configMap}" ${source.object} ${source.detail}`;
}
