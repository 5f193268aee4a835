// Mirror sources a pool's `spec.config` adds: ImageDigestMirrorSets, and ImageContentSourcePolicies
// (HyperShift accepts them too; the MCO converts them to the same digest mirror rules).
import { isObject, type ImageDigestMirrorSet, type KubeObject } from '../k8s/objects.js';
import { parseConfigMaps } from './config-maps.js';
import { CONFIG_API_VERSION } from './parse-config.js';
import type { ConfigMapLike } from './types.js';

const ICSP_API_VERSION = 'operator.openshift.io/v1alpha1';

/** In ConfigMap then document order. Unparseable config contributes nothing (detectRunc reports it). */
export function mirrorSetsFromConfig(configMaps: readonly ConfigMapLike[]): ImageDigestMirrorSet[] {
  const result: ImageDigestMirrorSet[] = [];
  for (const { parsed } of parseConfigMaps(configMaps, [])) {
    result.push(...parsed.imageDigestMirrorSets);
    for (const icsp of parsed.others.get('ImageContentSourcePolicy') ?? []) {
      if (icsp.apiVersion === ICSP_API_VERSION) result.push(icspAsMirrorSet(icsp));
    }
  }
  return result;
}

function icspAsMirrorSet(icsp: KubeObject): ImageDigestMirrorSet {
  const spec = (icsp as { spec?: unknown }).spec;
  const rules =
    isObject(spec) && Array.isArray(spec.repositoryDigestMirrors)
      ? spec.repositoryDigestMirrors
      : [];
  const imageDigestMirrors = rules.filter(isObject).map((rule) => ({
    source: typeof rule.source === 'string' ? rule.source : '',
    mirrors: Array.isArray(rule.mirrors)
      ? rule.mirrors.filter((m): m is string => typeof m === 'string')
      : [],
  }));
  return {
    apiVersion: CONFIG_API_VERSION,
    kind: 'ImageDigestMirrorSet',
    metadata: { name: icsp.metadata?.name ?? '' },
    spec: { imageDigestMirrors },
  };
}
