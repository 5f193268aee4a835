import { RegistryError } from './errors.js';

/**
 * An image reference, normalised the way docker and containers/image do it: a reference without a
 * registry is on `docker.io`, a one-segment repository there is under `library/`, and
 * `index.docker.io` is `docker.io`. `registry` is the name credentials and mirrors are keyed by;
 * {@link registryApiHost} gives the host the API is actually served from.
 */
export interface ImageReference {
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string | undefined;
  readonly digest?: string | undefined;
}

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';
const DOCKER_HUB_ALIASES = new Set(['index.docker.io', 'registry-1.docker.io']);

/** Longest accepted reference name (registry + repository), as in distribution's reference package. */
export const NAME_MAX_LENGTH = 255;

const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY_RE = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST_RE = new RegExp(
  `^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:.]+\\])(?::[0-9]{1,5})?$`,
);
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SUPPORTED_DIGEST_RE = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

function invalid(input: string, why: string): RegistryError {
  // The input is quoted (shortened, user:password@ removed by the error's redaction) so a user can
  // see which argument was wrong.
  const shown = input.length > 120 ? `${input.slice(0, 120)}…` : input;
  return new RegistryError(`invalid image reference ${JSON.stringify(shown)}: ${why}`, {
    code: 'INVALID_REFERENCE',
  });
}

/**
 * Parses `[host[:port]/]path[:tag][@digest]`. Throws only RegistryError (code INVALID_REFERENCE
 * or, for a well-formed digest of an algorithm we cannot verify, the same code with that reason).
 */
export function parseReference(input: string): ImageReference {
  if (typeof input !== 'string') throw invalid(String(input), 'not a string');
  if (input.length === 0) throw invalid(input, 'empty');
  if (input.length > NAME_MAX_LENGTH + 1 + 128 + 1 + 7 + 128) throw invalid(input, 'too long');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) {
    throw invalid(input, 'remove the transport or URL scheme (docker://, https://)');
  }

  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw invalid(input, 'malformed digest');
    if (!SUPPORTED_DIGEST_RE.test(digest)) {
      throw invalid(input, 'only sha256 and sha512 digests (lower-case hex) are supported');
    }
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw invalid(input, 'malformed tag');
  }

  if (rest.length === 0) throw invalid(input, 'missing repository');
  if (rest.length > NAME_MAX_LENGTH) {
    throw invalid(input, `name longer than ${NAME_MAX_LENGTH} characters`);
  }

  let registry: string;
  let repository: string;
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  if (
    slash >= 0 &&
    (first.includes('.') ||
      first.includes(':') ||
      first === 'localhost' ||
      first.startsWith('[') ||
      first !== first.toLowerCase())
  ) {
    registry = first;
    repository = rest.slice(slash + 1);
    if (!HOST_RE.test(registry)) throw invalid(input, 'malformed registry host');
    if (DOCKER_HUB_ALIASES.has(registry)) registry = DOCKER_HUB;
  } else {
    registry = DOCKER_HUB;
    repository = rest;
  }
  if (!REPOSITORY_RE.test(repository)) {
    throw invalid(
      input,
      'repository must be lower-case path components ([a-z0-9] separated by ".", "_", "__" or "-") joined by "/"',
    );
  }
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;

  const ref: { registry: string; repository: string; tag?: string; digest?: string } = {
    registry,
    repository,
  };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** Like {@link parseReference} but for a repository: a tag or digest, if given, is dropped. */
export function parseRepository(input: string | ImageReference): ImageReference {
  const ref = typeof input === 'string' ? parseReference(input) : input;
  return { registry: ref.registry, repository: ref.repository };
}

/** The canonical, fully qualified text: `registry/repository[:tag][@digest]`. */
export function formatReference(ref: ImageReference): string {
  let out = `${ref.registry}/${ref.repository}`;
  if (ref.tag !== undefined) out += `:${ref.tag}`;
  if (ref.digest !== undefined) out += `@${ref.digest}`;
  return out;
}

/** The short form docker prints: `alpine:3`, `user/app`, `quay.io/x/y:1`. */
export function familiarReference(ref: ImageReference): string {
  let name = `${ref.registry}/${ref.repository}`;
  if (ref.registry === DOCKER_HUB) {
    const short = ref.repository.startsWith('library/')
      ? ref.repository.slice('library/'.length)
      : ref.repository;
    // Keep `docker.io/` where the short form would read as a registry host (`0.0/x`, `localhost/x`).
    const first = short.split('/')[0] ?? '';
    if (!short.includes('/') || (!first.includes('.') && first !== 'localhost')) name = short;
  }
  let out = name;
  if (ref.tag !== undefined) out += `:${ref.tag}`;
  if (ref.digest !== undefined) out += `@${ref.digest}`;
  return out;
}

/** The host the registry API lives on (Docker Hub's is not `docker.io`). */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

/** What goes after `/manifests/`: the digest when there is one (it pins content), else the tag. */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

export function withDigest(ref: ImageReference, digest: string): ImageReference {
  return { registry: ref.registry, repository: ref.repository, digest };
}

export function toReference(input: string | ImageReference): ImageReference {
  return typeof input === 'string' ? parseReference(input) : input;
}
