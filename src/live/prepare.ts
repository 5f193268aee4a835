// What the live cache keeps of each object: what the engine reads, nothing more. Every ConfigMap
// of the cluster is watched (NodePools name theirs by name, in any namespace, so there is no
// selector that finds them), but only two kinds keep any data:
// - a `spec.config` ConfigMap's `config` key, the only key HyperShift and the engine read;
// - a mirror inventory's `digests` and its annotation (validated here, once per change: a bad
//   inventory is dropped and reported, so it cannot make the whole view unbuildable).
// Everything else becomes a name-only stub: "exists" is still an answer the engine needs.
import { ANNOTATIONS } from '../engine/types.js';
import { apiGroup, type ConfigMap, type KubeObject } from '../k8s/objects.js';
import { CONFIG_KEY } from '../runtime/config-maps.js';
import { StateError } from '../state/errors.js';
import { inventoryDigests, isMirrorInventory } from '../state/mirror-inventory.js';

/** kubectl's copy of the whole object: often the largest annotation, never read. */
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export function prepareForEngine(obj: KubeObject, reject: (problem: string) => void): KubeObject {
  if (obj.kind === 'ConfigMap' && apiGroup(obj.apiVersion) === '') {
    return prepareConfigMap(obj as ConfigMap, reject);
  }
  const annotations = obj.metadata?.annotations;
  if (!annotations || !(LAST_APPLIED in annotations)) return obj;
  const { [LAST_APPLIED]: _dropped, ...kept } = annotations;
  return { ...obj, metadata: { ...obj.metadata, annotations: kept } };
}

function prepareConfigMap(cm: ConfigMap, reject: (problem: string) => void): ConfigMap {
  const { name, namespace, uid, resourceVersion } = cm.metadata ?? {};
  const metadata = { name, namespace, uid, resourceVersion };
  if (isMirrorInventory(cm)) {
    try {
      inventoryDigests(cm);
      const annotation = cm.metadata?.annotations?.[ANNOTATIONS.mirrorInventory] ?? '';
      return {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { ...metadata, annotations: { [ANNOTATIONS.mirrorInventory]: annotation } },
        data: { digests: String(cm.data?.digests) },
      };
    } catch (err) {
      if (!(err instanceof StateError)) throw err;
      reject(`${err.message}; the inventory is ignored until it is fixed`);
    }
  }
  const config: unknown = cm.data?.[CONFIG_KEY];
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata,
    ...(typeof config === 'string' ? { data: { [CONFIG_KEY]: config } } : {}),
  };
}
