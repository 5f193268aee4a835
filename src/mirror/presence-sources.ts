// Where a digest reference would be pulled from on a disconnected cluster: its mirror sources
// (a HostedCluster's imageContentSources, ImageDigestMirrorSets) and the mirror references they
// rewrite it to, by containers-registries.conf's rule: the matched source prefix (for
// `*.example.com`, the host) is replaced by the mirror, the rest of the repository is kept.
//
// API: `mirrorEntries({ hostedCluster, imageDigestMirrorSets })` → MirrorEntry[];
// `mirrorCandidates(ref, entries)` → the mirror repositories to look in, in order, deduplicated.

import { repositoryOf, sourceCovers } from '../engine/mirror-sources.js';
import type { HostedCluster, ImageDigestMirrorSet } from '../k8s/objects.js';

export interface MirrorEntry {
  source: string;
  mirrors: readonly string[];
  /** Where it was declared, for logs. */
  from?: string;
}

export function mirrorEntries(input: {
  hostedCluster?: HostedCluster | undefined;
  imageDigestMirrorSets?: readonly ImageDigestMirrorSet[];
}): MirrorEntry[] {
  const entries: MirrorEntry[] = [];
  const hc = input.hostedCluster;
  const hcName = `HostedCluster ${hc?.metadata?.namespace ?? ''}/${hc?.metadata?.name ?? ''}`;
  for (const entry of hc?.spec?.imageContentSources ?? []) {
    const mirrors = strings(entry?.mirrors);
    if (typeof entry?.source === 'string' && mirrors.length > 0) {
      entries.push({ source: entry.source, mirrors, from: hcName });
    }
  }
  for (const set of input.imageDigestMirrorSets ?? []) {
    for (const entry of set.spec?.imageDigestMirrors ?? []) {
      const mirrors = strings(entry?.mirrors);
      if (typeof entry?.source === 'string' && mirrors.length > 0) {
        entries.push({
          source: entry.source,
          mirrors,
          from: `ImageDigestMirrorSet ${set.metadata?.name ?? ''}`,
        });
      }
    }
  }
  return entries;
}

/** The mirror repositories `ref` maps to (without tag or digest); empty when none covers it. */
export function mirrorCandidates(ref: string, entries: readonly MirrorEntry[]): string[] {
  const repo = repositoryOf(ref);
  const out: string[] = [];
  for (const entry of entries) {
    const source = entry.source.trim();
    if (source === '' || !sourceCovers(source, ref)) continue;
    const matched = source.startsWith('*.') ? (repo.split('/', 1)[0] ?? '').length : source.length;
    const rest = repo.slice(matched);
    for (const mirror of entry.mirrors) {
      const candidate = `${mirror.trim().replace(/\/+$/, '')}${rest}`;
      if (mirror.trim() !== '' && !out.includes(candidate)) out.push(candidate);
    }
  }
  return out;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((m): m is string => typeof m === 'string') : [];
}
