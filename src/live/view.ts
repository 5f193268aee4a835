// The engine's view of a live cluster: the ClusterState rebuilt from the informer caches, plus
// digests a mirror registry confirmed (checked live and cached by the presence checker). Kept
// through overlays, so a request's own objects never lose the live mirror answers.
import type { ClusterView, KubeObject } from '../engine/types.js';
import type { ClusterState } from '../state/index.js';

/** The mirror presence checker as the view needs it: a synchronous cache lookup. */
export interface MirrorPresence {
  has(digest: string): boolean;
}

export class LiveView implements ClusterView {
  constructor(
    readonly state: ClusterState,
    readonly presence?: MirrorPresence,
  ) {}

  hostedCluster(namespace: string, name: string) {
    return this.state.hostedCluster(namespace, name);
  }
  nodePool(namespace: string, name: string) {
    return this.state.nodePool(namespace, name);
  }
  configMap(namespace: string, name: string) {
    return this.state.configMap(namespace, name);
  }
  nodePoolsReferencing(namespace: string, configMapName: string) {
    return this.state.nodePoolsReferencing(namespace, configMapName);
  }
  nodePoolCrdHasOsImageStream(): boolean {
    return this.state.nodePoolCrdHasOsImageStream();
  }
  imageDigestMirrorSets() {
    return this.state.imageDigestMirrorSets();
  }
  /** In an inventory ConfigMap, or confirmed in the mirror registry. */
  mirroredDigest(digest: string): boolean {
    return this.state.mirroredDigest(digest) || (this.presence?.has(digest.trim()) ?? false);
  }
  withOverlay(objects: readonly KubeObject[]): LiveView {
    return new LiveView(this.state.withOverlay(objects), this.presence);
  }
}
