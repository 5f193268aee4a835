// Release data in a state directory is recognised by its annotation, not by its name: a state
// may hold the `coreos-bootimages` ConfigMap of several releases side by side.

import { ANNOTATIONS } from '../engine/types.js';
import { apiGroup, type KubeObject } from '../k8s/objects.js';

export type ReleaseDataKind = 'bootimages' | 'image-references';

/** What kind of release data an object is, or undefined for an ordinary cluster object. */
export function releaseDataKind(obj: KubeObject): ReleaseDataKind | undefined {
  if (typeof obj.metadata?.annotations?.[ANNOTATIONS.releaseImage] !== 'string') return undefined;
  const group = apiGroup(obj.apiVersion);
  if (obj.kind === 'ConfigMap' && group === '') return 'bootimages';
  if (obj.kind === 'ImageStream' && group === 'image.openshift.io') return 'image-references';
  return undefined;
}

export function isReleaseData(obj: KubeObject): boolean {
  return releaseDataKind(obj) !== undefined;
}
