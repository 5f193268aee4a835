// Whether the installed NodePool API has `spec.osImageStream`: the Default feature set's CRD
// does not, TechPreviewNoUpgrade's does. Read from the served v1beta1 schema.

import { apiGroup, isObject, type KubeObject } from '../k8s/objects.js';

export const NODEPOOL_CRD_NAME = 'nodepools.hypershift.openshift.io';

export function isNodePoolCrd(obj: KubeObject): boolean {
  return (
    obj.kind === 'CustomResourceDefinition' &&
    apiGroup(obj.apiVersion) === 'apiextensions.k8s.io' &&
    obj.metadata?.name === NODEPOOL_CRD_NAME
  );
}

/** False when v1beta1 is not served or its schema lacks the field. */
export function crdHasOsImageStream(crd: KubeObject): boolean {
  const versions = get(crd, 'spec', 'versions');
  if (!Array.isArray(versions)) return false;
  const v1beta1 = versions.find(
    (v) => isObject(v) && v.name === 'v1beta1' && v.served === true,
  ) as unknown;
  const field = get(
    v1beta1,
    'schema',
    'openAPIV3Schema',
    'properties',
    'spec',
    'properties',
    'osImageStream',
  );
  return isObject(field);
}

function get(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) {
    if (!isObject(current)) return undefined;
    current = current[key];
  }
  return current;
}
