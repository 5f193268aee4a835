// The API resources streamguard reads, with what each list/watch asks for. Kubernetes omits
// apiVersion/kind on the items of a list, so they are restored from here before indexing.
import { NODEPOOL_CRD_NAME } from '../state/crd.js';

export interface Resource {
  /** `plural.group`, for messages and metrics. */
  name: string;
  apiVersion: string;
  kind: string;
  /** Cluster-wide collection path. */
  path: string;
  fieldSelector?: string;
  /** Absent from some clusters (mirror sets on a non-OpenShift management cluster). */
  optional?: boolean;
}

const HYPERSHIFT = 'hypershift.openshift.io/v1beta1';

export const HOSTED_CLUSTERS: Resource = {
  name: 'hostedclusters.hypershift.openshift.io',
  apiVersion: HYPERSHIFT,
  kind: 'HostedCluster',
  path: '/apis/hypershift.openshift.io/v1beta1/hostedclusters',
};

export const NODE_POOLS: Resource = {
  name: 'nodepools.hypershift.openshift.io',
  apiVersion: HYPERSHIFT,
  kind: 'NodePool',
  path: '/apis/hypershift.openshift.io/v1beta1/nodepools',
};

export const CONFIG_MAPS: Resource = {
  name: 'configmaps',
  apiVersion: 'v1',
  kind: 'ConfigMap',
  path: '/api/v1/configmaps',
};

/** Only the NodePool CRD: whether it has spec.osImageStream is all the engine asks. */
export const NODEPOOL_CRD: Resource = {
  name: 'customresourcedefinitions.apiextensions.k8s.io',
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  path: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
  fieldSelector: `metadata.name=${NODEPOOL_CRD_NAME}`,
};

export const IMAGE_DIGEST_MIRROR_SETS: Resource = {
  name: 'imagedigestmirrorsets.config.openshift.io',
  apiVersion: 'config.openshift.io/v1',
  kind: 'ImageDigestMirrorSet',
  path: '/apis/config.openshift.io/v1/imagedigestmirrorsets',
  optional: true,
};

/** Everything the engine's cluster view is built from. */
export const CONTEXT_RESOURCES: readonly Resource[] = [
  HOSTED_CLUSTERS,
  NODE_POOLS,
  CONFIG_MAPS,
  NODEPOOL_CRD,
  IMAGE_DIGEST_MIRROR_SETS,
];
