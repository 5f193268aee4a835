import type { ReleaseCatalog } from '../catalog/types.js';
import type {
  ConfigMap,
  HostedCluster,
  ImageDigestMirrorSet,
  KubeObject,
  NodePool,
} from '../k8s/objects.js';
import type { Policy } from '../policy/types.js';

export const RULE_IDS = [
  'known-stream',
  'release-minimum',
  'runtime',
  'no-downgrade',
  'no-removal',
  'boot-image',
  'inplace-rebase',
  'implicit-flip',
  'field-supported',
  'mirrored',
  'exemption',
  'context',
  'catalog',
  'pin-on-create',
  'sticky-default',
] as const;
export type RuleId = (typeof RULE_IDS)[number];

export const ANNOTATIONS = {
  defaultedStream: 'streamguard.io/defaulted-stream',
  exempt: 'streamguard.io/exempt',
  exemptReason: 'streamguard.io/exempt-reason',
  releaseImage: 'streamguard.io/release-image',
  mirrorInventory: 'streamguard.io/mirror-inventory',
} as const;

/**
 * What the engine may read of the cluster. Offline state, Git manifests and (later) informer
 * caches all implement it; lookups are synchronous map hits so the request path never waits.
 */
export interface ClusterView {
  hostedCluster(namespace: string, name: string): HostedCluster | undefined;
  nodePool(namespace: string, name: string): NodePool | undefined;
  configMap(namespace: string, name: string): ConfigMap | undefined;
  /** NodePools whose `spec.config` names this ConfigMap, sorted by name. */
  nodePoolsReferencing(namespace: string, configMapName: string): readonly NodePool[];
  /** Does the installed NodePool CRD have `spec.osImageStream`? (True when unknown.) */
  nodePoolCrdHasOsImageStream(): boolean;
  imageDigestMirrorSets(): readonly ImageDigestMirrorSet[];
  /** Is this image digest (`sha256:…`) known to be present in a mirror? */
  mirroredDigest(digest: string): boolean;
  /** A view where these objects replace or add to this one (a ConfigMap edit, a Git change). */
  withOverlay(objects: readonly KubeObject[]): ClusterView;
}

export interface UserInfo {
  username?: string;
  groups?: string[];
}

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';

/** The part of an AdmissionReview request the engine decides on. */
export interface AdmissionRequestLike {
  uid: string;
  kind: { group: string; version: string; kind: string };
  operation: Operation;
  namespace?: string;
  name?: string;
  object?: KubeObject | null;
  oldObject?: KubeObject | null;
  userInfo?: UserInfo;
  dryRun?: boolean;
  /** `status`, `scale`, …: the pool's spec is not what changes, so there is nothing to decide. */
  subResource?: string;
}

export interface DecisionContext {
  policy: Policy;
  releases: ReleaseCatalog;
  /** The cluster as it is now; the engine overlays the request's own object where it matters. */
  cluster: ClusterView;
}

export type Severity = 'deny' | 'warn';

export interface Finding {
  rule: RuleId;
  severity: Severity;
  /** The full message a person can act on (what is wrong, where, what to do). */
  message: string;
  /** A short form for AdmissionReview warnings (≤ 120 characters with its `[rule-id] ` prefix). */
  summary: string;
  /** The pool the finding is about (namespace/name), for ConfigMap reviews and reports. */
  subject?: string;
}

export interface JsonPatchOperation {
  op: 'add' | 'replace' | 'remove' | 'test';
  path: string;
  value?: unknown;
}

export interface Decision {
  allowed: boolean;
  findings: readonly Finding[];
  /** RFC 6902 patch (mutate only); empty when there is nothing to change. */
  patch: readonly JsonPatchOperation[];
}

export type { ConfigMap, HostedCluster, ImageDigestMirrorSet, KubeObject, NodePool };
