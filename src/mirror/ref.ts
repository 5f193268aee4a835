// Image references the way oc-mirror v2 splits them (internal/pkg/image ParseRef): the first
// segment of a name with at least two segments is the domain (whether or not it looks like a
// host), the rest is the path; `:tag` counts only after the first slash; `@algo:hex` is the
// digest. The IDMS/ITMS scope rules and --max-nested-paths work on exactly these parts, so the
// planner must split names the same way to produce the same mirror sets.

import { PlanError } from './errors.js';

export interface ImageRef {
  /** Name without tag and digest: `quay.io/openshift-release-dev/ocp-release`. */
  name: string;
  /** First segment of the name (`quay.io`, `reg:5000`). */
  domain: string;
  /** The name without the domain (oc-mirror's PathComponent). */
  path: string;
  tag?: string;
  /** `sha256:<hex>`. */
  digest?: string;
}

const DOCKER = 'docker://';
const DOMAIN =
  /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST_HEX: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** Drops a `docker://` transport; any other transport is refused (the planner copies registries). */
export function stripTransport(ref: string, what = 'image reference'): string {
  if (ref.startsWith(DOCKER)) return ref.slice(DOCKER.length);
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(ref) || ref.startsWith('oci:')) {
    throw new PlanError(`${what} "${ref}": only docker:// references can be planned`);
  }
  return ref;
}

export function isDigest(text: string): boolean {
  const colon = text.indexOf(':');
  if (colon < 0) return false;
  const length = DIGEST_HEX[text.slice(0, colon)];
  const hex = text.slice(colon + 1);
  return length !== undefined && hex.length === length && /^[a-f0-9]+$/.test(hex);
}

/** Parses `[docker://]domain/path[:tag][@digest]`; a tag or a digest is required. */
export function parseRef(input: string, what = 'image reference'): ImageRef {
  const ref = stripTransport(input, what);
  const fail = (problem: string): never => {
    throw new PlanError(`${what} "${input}": ${problem}`);
  };
  const at = ref.indexOf('@');
  let name = at < 0 ? ref : ref.slice(0, at);
  let digest: string | undefined;
  if (at >= 0) {
    digest = ref.slice(at + 1);
    if (!isDigest(digest)) fail('invalid digest');
  }
  let tag: string | undefined;
  const colon = name.lastIndexOf(':');
  const slash = name.indexOf('/');
  if (colon >= 0 && colon > slash) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
    if (!TAG.test(tag)) fail('invalid tag');
  }
  if (tag === undefined && digest === undefined) fail('a tag or a digest is required');
  const { domain, path } = splitName(name, fail);
  const result: ImageRef = { name, domain, path };
  if (tag !== undefined) result.tag = tag;
  if (digest !== undefined) result.digest = digest;
  return result;
}

/** Parses a repository prefix `REGISTRY[/NS…]` (the planner's `--to`). */
export function parseRepository(input: string, what = 'destination'): ImageRef {
  const ref = stripTransport(input, what).replace(/\/+$/, '');
  const fail = (problem: string): never => {
    throw new PlanError(`${what} "${input}": ${problem}`);
  };
  if (ref.includes('@')) fail('a registry and optional namespace cannot carry a digest');
  const slash = ref.indexOf('/');
  const domain = slash < 0 ? ref : ref.slice(0, slash);
  const path = slash < 0 ? '' : ref.slice(slash + 1);
  if (!DOMAIN.test(domain)) fail('invalid registry host');
  if (path !== '' && !path.split('/').every((c) => PATH_COMPONENT.test(c))) {
    fail('namespace path components must be lowercase letters, digits and separators (no tag)');
  }
  return { name: ref, domain, path };
}

function splitName(name: string, fail: (problem: string) => never) {
  const slash = name.indexOf('/');
  if (slash < 0) return fail('expected registry/repository');
  const domain = name.slice(0, slash);
  const path = name.slice(slash + 1);
  if (!DOMAIN.test(domain)) fail('invalid registry host');
  if (!path.split('/').every((c) => PATH_COMPONENT.test(c))) fail('invalid repository path');
  return { domain, path };
}

export function formatRef(ref: ImageRef): string {
  return `${ref.name}${ref.tag === undefined ? '' : `:${ref.tag}`}${ref.digest === undefined ? '' : `@${ref.digest}`}`;
}

export function isDigestOnly(ref: ImageRef): boolean {
  return ref.tag === undefined && ref.digest !== undefined;
}

/** Path segments of a destination below its registry (oc-mirror counts these). */
export function pathDepth(repository: ImageRef): number {
  // As oc-mirror (and v1's checkDockerReference): an empty path still counts as one component.
  return repository.path.split('/').length;
}

/**
 * oc-mirror's `--max-nested-paths` rule: a path with more than `max` segments keeps its first
 * `max - 1` segments and joins the rest with `-` into the last one. 0 is off.
 */
export function flattenPath(path: string, max: number): string {
  if (max <= 0) return path;
  const segments = path.split('/');
  if (segments.length <= max) return path;
  return [...segments.slice(0, max - 1), segments.slice(max - 1).join('-')].join('/');
}

/** `max` must be 0, or an integer above the number of path segments of `--to` (as oc-mirror). */
export function checkMaxNestedPaths(to: ImageRef, max: number): void {
  if (!Number.isInteger(max) || max < 0) {
    throw new PlanError(`max nested paths must be a whole number ≥ 0, got ${String(max)}`);
  }
  if (max > 0 && pathDepth(to) >= max) {
    throw new PlanError(
      `max nested paths (${max}) must be higher than the number of path components in the ` +
        `destination "${to.name}" (${pathDepth(to)}); try a higher value`,
    );
  }
}

/** The destination reference `<to>/<repo>:<tag>`, flattened by max nested paths. */
export function destinationRef(to: ImageRef, repo: string, tag: string, max: number): ImageRef {
  const path = flattenPath(to.path ? `${to.path}/${repo}` : repo, max);
  return { name: `${to.domain}/${path}`, domain: to.domain, path, tag };
}

/** Compares strings by UTF-16 code units: locale-independent, so output is the same anywhere. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
