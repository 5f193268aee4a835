// runc detection over a pool's `spec.config` ConfigMaps, in both places upstream looks:
// HyperShift's ContainerRuntimeConfig check and the MCO's CRI-O drop-in check.
import { isObject, type KubeObject } from '../k8s/objects.js';
import { parseConfigMaps, type ParsedConfigMap } from './config-maps.js';
import { collectCrioDropIns, runcFromDropIns } from './crio-dropins.js';
import type { ConfigMapLike, RuncDetection, RuncSource } from './types.js';

export type { ConfigMapLike, RuncDetection, RuncSource } from './types.js';

/** Never throws: unreadable config is reported in `errors` and otherwise ignored. */
export function detectRunc(configMaps: readonly ConfigMapLike[]): RuncDetection {
  const errors: string[] = [];
  const parsed = parseConfigMaps(configMaps, errors);
  const detection: RuncDetection = { errors };
  const fromCrc = runcFromContainerRuntimeConfigs(parsed);
  if (fromCrc) detection.containerRuntimeConfig = fromCrc;
  const machineConfigs = parsed.flatMap(({ name, parsed: p }) =>
    p.machineConfigs.map((machineConfig) => ({ configMap: name, machineConfig })),
  );
  const fromMc = runcFromDropIns(collectCrioDropIns(machineConfigs), errors);
  if (fromMc) detection.machineConfig = fromMc;
  return detection;
}

/** `usesRuncRuntime`: the first ContainerRuntimeConfig with defaultRuntime runc. */
function runcFromContainerRuntimeConfigs(
  parsed: readonly ParsedConfigMap[],
): RuncSource | undefined {
  for (const { name, parsed: p } of parsed) {
    const crc = p.containerRuntimeConfigs.find((obj) => defaultRuntime(obj) === 'runc');
    if (crc) {
      return {
        configMap: name,
        object: `ContainerRuntimeConfig/${crc.metadata?.name ?? ''}`,
        detail: 'spec.containerRuntimeConfig.defaultRuntime: runc',
      };
    }
  }
  return undefined;
}

function defaultRuntime(obj: KubeObject): unknown {
  const spec = (obj as { spec?: unknown }).spec;
  const config = isObject(spec) ? spec.containerRuntimeConfig : undefined;
  return isObject(config) ? config.defaultRuntime : undefined;
}
