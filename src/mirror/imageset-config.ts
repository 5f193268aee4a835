// oc-mirror v2 ImageSetConfiguration (mirror.openshift.io/v2alpha1) for each planned release.
//
// Form: `mirror.platform.release: <repo>@<digest>`, one release per file. oc-mirror v2 reads
// `platform.release` as one pullspec by tag or digest (GA, rc and ec alike, OCPBUGS-50617) and
// then ignores channels, so it mirrors exactly that payload; its destination tag comes from the
// release signature's identity (`<version>-<arch>`), which is the tag the plan uses for official
// pullspecs. Channels with minVersion = maxVersion = <version> were not chosen: they need the
// Cincinnati graph (the release must be in that channel; ec and nightly builds often are not),
// they name a version rather than a payload, and two channels make oc-mirror add the upgrade
// path between them (getCrossChannelDownloads), so several releases could not be pinned exactly
// either. As `release` holds one pullspec, a plan of several releases has one file per release.
//
// KubeVirt disks: every selected stream's disk is an additionalImages entry by digest-ref, with
// targetRepo/targetTag set so oc-mirror puts it where mapping.txt does
// (`openshift/release:<releaseTag>-kube-virt-container[-<stream>]`). `kubeVirtContainer` stays
// off: it would only add the rhel-9 disk (the one oc-mirror knows) a second time.
//
// Streams: oc-mirror mirrors every tag of the payload; node images of streams the plan leaves
// out are listed in blockedImages (Go regexps matched against the collected references), each
// matching the image's digest or its destination tag, so a run mirrors what the plan says.

import { stringify } from 'yaml';
import { MULTI, goArch } from './arch.js';
import { RELEASE_REPO } from './images.js';
import { compareText, parseRef } from './ref.js';
import type { ExcludedImage, ImagePlan, PlannedImage, PlannedRelease } from './types.js';

export interface ImageSetConfiguration {
  kind: 'ImageSetConfiguration';
  apiVersion: 'mirror.openshift.io/v2alpha1';
  mirror: {
    platform: {
      release: string;
      platforms?: { os: string; architecture: string }[];
    };
    additionalImages?: { name: string; targetRepo: string; targetTag: string }[];
    blockedImages?: { name: string }[];
  };
}

export function imageSetConfiguration(
  release: PlannedRelease,
  images: readonly PlannedImage[],
  excluded: readonly ExcludedImage[],
): ImageSetConfiguration {
  const ref = parseRef(release.data.pullspec, 'release pullspec');
  const platform: ImageSetConfiguration['mirror']['platform'] = {
    release: `${ref.name}@${release.data.digest}`,
  };
  if (release.arch === MULTI && release.architectures.length > 0) {
    platform.platforms = release.architectures.map((arch) => ({
      os: 'linux',
      architecture: goArch(arch),
    }));
  }
  const config: ImageSetConfiguration = {
    kind: 'ImageSetConfiguration',
    apiVersion: 'mirror.openshift.io/v2alpha1',
    mirror: { platform },
  };
  const disks = images
    .filter((i) => i.kind === 'kubevirt' && i.release === release.releaseTag)
    .sort((a, b) => compareText(a.tag, b.tag));
  if (disks.length > 0) {
    config.mirror.additionalImages = disks.map((disk) => ({
      name: disk.source,
      targetRepo: RELEASE_REPO,
      targetTag: `${release.releaseTag}-${disk.tag}`,
    }));
  }
  const kept = new Set(images.map((i) => i.digest));
  const blocked = excluded
    .filter((e) => e.release === release.releaseTag)
    .sort((a, b) => compareText(a.tag, b.tag))
    .map((e) => ({ name: blockedPattern(release.releaseTag, e, kept.has(e.digest)) }));
  if (blocked.length > 0) config.mirror.blockedImages = blocked;
  return config;
}

/**
 * A Go regexp matching the left-out image by its destination tag and, unless another planned
 * image has the same digest, by its digest (the origin reference carries only the digest).
 */
function blockedPattern(releaseTag: string, image: ExcludedImage, digestShared: boolean): string {
  const tag = `:${escapeRegExp(`${releaseTag}-${image.tag}`)}$`;
  return digestShared ? tag : `${escapeRegExp(image.digest)}$|${tag}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `imageset-config.yaml` for one release; `imageset-config-<releaseTag>.yaml` for each of several. */
export function imageSetConfigFiles(plan: ImagePlan): Map<string, string> {
  const files = new Map<string, string>();
  const several = plan.releases.length > 1;
  for (const release of plan.releases) {
    const name = several ? `imageset-config-${release.releaseTag}.yaml` : 'imageset-config.yaml';
    const config = imageSetConfiguration(release, plan.images, plan.excluded);
    files.set(name, renderImageSetConfiguration(release, plan, config));
  }
  return files;
}

function renderImageSetConfiguration(
  release: PlannedRelease,
  plan: ImagePlan,
  config: ImageSetConfiguration,
): string {
  const data = release.data;
  const streams = release.streams.filter((s) => plan.streams.includes(s));
  const header = [
    `# oc-mirror v2 ImageSetConfiguration written by streamguard for ${data.pullspec}`,
    `# (OpenShift ${data.version}, ${release.arch}; streams ${streams.join(', ') || 'none'}).`,
    '# platform.release pins this one payload by digest.',
  ];
  if (config.mirror.additionalImages) {
    header.push(
      '# additionalImages: the KubeVirt disk of every selected stream, placed where mapping.txt',
      '# puts it (kubeVirtContainer stays off: it would add the rhel-9 disk a second time).',
    );
  }
  if (config.mirror.blockedImages) {
    header.push('# blockedImages: node images of the streams this plan leaves out.');
  }
  header.push(
    `# Run: oc-mirror --v2 -c <this file> --workspace file://<dir> docker://${plan.to}` +
      (plan.maxNestedPaths > 0 ? ` --max-nested-paths ${plan.maxNestedPaths}` : ''),
  );
  return `${header.join('\n')}\n${stringify(config, { indentSeq: false, lineWidth: 0 })}`;
}
