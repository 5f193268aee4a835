// Once a release's data is in memory, the node images of its streams are looked up in the
// cluster's mirrors (HEAD by digest), so the `mirrored` rule answers from cache at admission.
// Only for disconnected clusters: a HostedCluster with imageContentSources, or a management
// cluster with ImageDigestMirrorSets. Both streams are checked: a pool may switch streams.
import type { ReleaseCatalog } from '../catalog/types.js';
import type { HostedCluster } from '../k8s/objects.js';
import { mirrorEntries } from '../mirror/presence-sources.js';
import type { PullSecret } from '../release/pull-secret.js';
import type { ClusterState } from '../state/index.js';
import type { PrefetchingPresence } from './releases.js';

export function prefetchMirrored(
  presence: PrefetchingPresence,
  releases: ReleaseCatalog,
  state: ClusterState | undefined,
  pullspec: string,
  hostedCluster: HostedCluster | undefined,
  pullSecret: PullSecret | undefined,
): Promise<void> | undefined {
  const entries = mirrorEntries({
    hostedCluster,
    imageDigestMirrorSets: state?.imageDigestMirrorSets() ?? [],
  });
  if (entries.length === 0) return undefined;
  const refs: string[] = [];
  for (const images of releases.release(pullspec).nodeImages?.values() ?? []) {
    if (images.os) refs.push(images.os);
    if (images.extensions) refs.push(images.extensions);
  }
  return refs.length === 0 ? undefined : presence.prefetch(refs, entries, pullSecret);
}
