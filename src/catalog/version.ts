// Release versions compared on major.minor only, as upstream compares streams by major version
// and pre-releases count as their major.minor (`5.0.0-ec.2` is 5.0).

import type { Version } from './types.js';

// major.minor, then the end or a separator (`.3`, `-rc.0`, `+build`). Bounded digit counts keep
// the numbers safe integers whatever the input.
const VERSION = /^(\d{1,9})\.(\d{1,9})(?:[.+-].*)?$/s;

/** major.minor of `5.0.0-ec.2`, `4.17.0-rc.0`, `4.21.3`; undefined when not a usable version. */
export function parseVersion(text: string): Version | undefined {
  const match = VERSION.exec(text);
  if (!match) return undefined;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  // The installer writes `0.0.1-snapshot` until release tooling substitutes the real version;
  // no OpenShift release has major 0.
  if (major === 0) return undefined;
  return { major, minor, raw: text };
}

/**
 * The version in an image reference's tag: `quay.io/openshift-release-dev/ocp-release:4.17.0-x86_64`
 * is 4.17. A registry port is not a tag (`localhost:5000/x:5.0.1-multi` is 5.0); a digest-only
 * reference has no version; `repo:tag@sha256:…` uses the tag.
 */
export function versionFromPullspec(pullspec: string): Version | undefined {
  const tag = imageTag(pullspec);
  return tag === undefined ? undefined : parseVersion(tag);
}

export function imageTag(pullspec: string): string | undefined {
  const at = pullspec.indexOf('@');
  const name = at < 0 ? pullspec : pullspec.slice(0, at);
  const colon = name.lastIndexOf(':');
  // A colon before the last slash belongs to the registry host (a port), not a tag.
  if (colon < 0 || colon < name.lastIndexOf('/')) return undefined;
  const tag = name.slice(colon + 1);
  return tag || undefined;
}

/** Negative, zero or positive as `a` is below, equal to or above `b` on major.minor. */
export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor;
}

export function formatVersion(version: Version): string {
  return `${version.major}.${version.minor}`;
}
