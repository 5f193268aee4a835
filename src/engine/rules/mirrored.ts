import type { NodeImages } from '../../catalog/types.js';
import { mirrorSetsFromConfig } from '../../runtime/config.js';
import { coveringSource, digestOf, type MirrorSource } from '../mirror-sources.js';
import type { PoolFacts } from '../facts.js';
import type { Observation, Rule } from './types.js';

/**
 * On a disconnected cluster both streams' node images live in the same source repository, so a
 * source-prefix check proves nothing: the target stream's digests must be covered by a mirror
 * source *and* found in a mirror inventory.
 */
export const mirrored: Rule = {
  id: 'mirrored',
  ratchet: true,
  check({ next, policy }) {
    const sources = imageContentSources(next);
    const disconnected =
      policy.disconnected === 'true' ||
      (policy.disconnected === 'auto' &&
        (next.hostedCluster?.spec?.imageContentSources?.length ?? 0) > 0);
    if (!disconnected || next.effective.kind !== 'stream' || !next.release) return [];
    const stream = next.effective.stream;
    const images: NodeImages | undefined = next.release.nodeImages?.get(stream);
    if (!next.release.nodeImages) {
      return [
        {
          rule: 'context',
          message: `the node images of release ${next.release.pullspec} are unknown (no image-references in the state), so the mirror of ${stream} for NodePool ${next.key} cannot be verified; add the release data with \`streamguard release fetch\``,
          summary: 'release node images unknown: mirror not verified',
        },
      ];
    }
    const refs = [
      ['OS', images?.os],
      ['extensions', images?.extensions],
    ] as const;
    const problems: string[] = [];
    for (const [what, ref] of refs) {
      if (!ref) {
        problems.push(`release ${next.release.pullspec} has no ${stream} ${what} image`);
        continue;
      }
      const digest = digestOf(ref);
      const source = coveringSource(sources, ref);
      if (!source)
        problems.push(`${stream} ${what} image ${ref} is not covered by any mirror source`);
      else if (!digest || !next.view.mirroredDigest(digest)) {
        problems.push(
          `${stream} ${what} image ${ref} (source ${source.source} from ${source.from}) is not in any mirror inventory`,
        );
      }
    }
    if (problems.length === 0) return [];
    const observation: Observation = {
      rule: 'mirrored',
      message: `NodePool ${next.key} targets ${stream} on a disconnected cluster, but ${problems.join('; ')}. Plan and verify the mirror with \`streamguard plan\` and \`streamguard mirror verify\`, then add the inventory to the state`,
      summary: `${stream} node images not known in the mirror; run streamguard plan/verify`,
    };
    return [observation];
  },
};

/** State objects are checked for identity only: a field meant to be a list may be anything. */
function listOf<T>(value: readonly T[] | undefined): readonly T[] {
  return Array.isArray(value) ? value : [];
}

function imageContentSources(next: PoolFacts): MirrorSource[] {
  const sources: MirrorSource[] = [];
  const hc = next.hostedCluster;
  for (const entry of listOf(hc?.spec?.imageContentSources)) {
    if (typeof entry?.source === 'string' && (entry.mirrors?.length ?? 0) > 0) {
      sources.push({
        source: entry.source,
        from: `HostedCluster ${next.namespace}/${hc?.metadata?.name}`,
      });
    }
  }
  const idms = [...mirrorSetsFromConfig(next.configMaps), ...next.view.imageDigestMirrorSets()];
  for (const set of idms) {
    for (const entry of listOf(set.spec?.imageDigestMirrors)) {
      if (typeof entry?.source === 'string' && (entry.mirrors?.length ?? 0) > 0) {
        sources.push({ source: entry.source, from: `ImageDigestMirrorSet ${set.metadata?.name}` });
      }
    }
  }
  return sources;
}
