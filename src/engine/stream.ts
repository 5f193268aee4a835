// Effective OS stream resolution, with the same semantics as HyperShift's GetRHELStream
// (controllers/nodepool/stream.go) and GetRHELStreamForBootImage (osstream.go).
import { RHEL10, RHEL9, type StreamName, type Version } from '../catalog/types.js';
import { compareVersions } from '../catalog/version.js';

export const API_STREAMS: readonly StreamName[] = [RHEL9, RHEL10];

export type Resolution =
  | { kind: 'stream'; stream: StreamName }
  /** The explicit stream cannot be used with this release or runtime. */
  | { kind: 'invalid'; reason: string }
  /** Something needed to resolve is unknown (the release version). */
  | { kind: 'unknown'; reason: string };

export interface ResolutionInput {
  explicit: string | undefined;
  version: Version | undefined;
  /** runc as HyperShift sees it (a ContainerRuntimeConfig), which decides the implicit default. */
  usesRunc: boolean;
  minimum: Version;
  releaseImage: string | undefined;
}

/** The release's own default: rhel-9 below 5.0; from 5.0, rhel-9 with runc, else rhel-10. */
export function releaseDefault(version: Version, usesRunc: boolean): StreamName {
  return version.major < 5 || usesRunc ? RHEL9 : RHEL10;
}

export function resolveEffectiveStream(input: ResolutionInput): Resolution {
  const { explicit, version, usesRunc, minimum } = input;
  if (explicit === RHEL9) return { kind: 'stream', stream: RHEL9 };
  if (explicit === RHEL10) {
    if (usesRunc) {
      return {
        kind: 'invalid',
        reason: 'stream "rhel-10" is incompatible with runc: RHEL 10 does not ship runc',
      };
    }
    if (!version) return { kind: 'unknown', reason: unknownVersion(input.releaseImage) };
    if (compareVersions(version, minimum) < 0) {
      return {
        kind: 'invalid',
        reason: `stream "rhel-10" requires OCP >= ${minimum.raw}, but release version is ${version.raw}`,
      };
    }
    return { kind: 'stream', stream: RHEL10 };
  }
  if (explicit !== undefined) {
    return {
      kind: 'invalid',
      reason: `unknown RHEL stream ${JSON.stringify(explicit)}; valid values are "rhel-9" and "rhel-10"`,
    };
  }
  if (!version) return { kind: 'unknown', reason: unknownVersion(input.releaseImage) };
  return { kind: 'stream', stream: releaseDefault(version, usesRunc) };
}

function unknownVersion(releaseImage: string | undefined): string {
  return releaseImage
    ? `the version of release ${releaseImage} is unknown (no release data in the state and no version tag)`
    : 'the NodePool has no spec.release.image';
}

export function streamOf(resolution: Resolution): StreamName | undefined {
  return resolution.kind === 'stream' ? resolution.stream : undefined;
}

/**
 * The stream nodes boot from: explicit → status → rhel-9 when the installed CRD lacks the field
 * (the API server prunes spec and status fields it does not know) → the effective default.
 */
export function bootImageStream(input: {
  crdHasField: boolean;
  explicit: string | undefined;
  status: string | undefined;
  effective: Resolution;
}): StreamName | undefined {
  if (!input.crdHasField) return RHEL9;
  if (input.explicit !== undefined)
    return API_STREAMS.includes(input.explicit) ? input.explicit : undefined;
  if (input.status) return input.status;
  return streamOf(input.effective);
}
