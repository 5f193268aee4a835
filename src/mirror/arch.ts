// Architecture names: release tags and CoreOS stream metadata say x86_64/aarch64, Go and
// oc-mirror's ImageSetConfiguration say amd64/arm64. The planner works in stream metadata names.

import { PlanError } from './errors.js';

export const MULTI = 'multi';

const TO_METADATA: Record<string, string> = {
  x86_64: 'x86_64',
  amd64: 'x86_64',
  aarch64: 'aarch64',
  arm64: 'aarch64',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  multi: MULTI,
};

const TO_GO: Record<string, string> = {
  x86_64: 'amd64',
  aarch64: 'arm64',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  multi: MULTI,
};

/** The order people read architectures in; unknown names sort after these. */
const ORDER = ['x86_64', 'aarch64', 'ppc64le', 's390x'];

export function normalizeArch(arch: string, where = 'architecture'): string {
  const name = Object.hasOwn(TO_METADATA, arch) ? TO_METADATA[arch] : undefined;
  if (name === undefined) {
    throw new PlanError(
      `${where} "${arch}" is not one of x86_64 (amd64), aarch64 (arm64), ppc64le, s390x, multi`,
    );
  }
  return name;
}

export function goArch(arch: string): string {
  return (Object.hasOwn(TO_GO, arch) ? TO_GO[arch] : undefined) ?? arch;
}

export function compareArchs(a: string, b: string): number {
  const ia = ORDER.indexOf(a);
  const ib = ORDER.indexOf(b);
  if (ia !== ib) return (ia < 0 ? ORDER.length : ia) - (ib < 0 ? ORDER.length : ib);
  return a < b ? -1 : a > b ? 1 : 0;
}
