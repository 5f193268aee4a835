// A HostedCluster's pull secret as registry credentials held in memory.
//
// API:
// - `pullSecretFromSecret(secret)`: a Secret of type kubernetes.io/dockerconfigjson → PullSecret
//   (throws PullSecretError saying which Secret and what is wrong, never quoting its contents);
// - `pullSecretFromDockerConfig(text, where)`: the same from the `.dockerconfigjson` text;
// - `PullSecret.credentials()`: a CredentialStore for `new RegistryClient({ credentials })`.
// The `id` is a digest of the parsed entries: it keys registry clients (two Secrets with the same
// contents share one) and must never be logged (it is derived from the credentials).

import { createHash } from 'node:crypto';
import type { KubeObject } from '../k8s/objects.js';
import { isObject } from '../k8s/objects.js';
import {
  CredentialStore,
  lookupCredentials,
  parseAuthFile,
  type AuthEntries,
  type Credentials,
} from '../registry/authfile.js';
import { RegistryError } from '../registry/errors.js';
import type { ImageReference } from '../registry/reference.js';

export const DOCKER_CONFIG_JSON_TYPE = 'kubernetes.io/dockerconfigjson';
export const DOCKER_CONFIG_JSON_KEY = '.dockerconfigjson';

export class PullSecretError extends Error {
  override readonly name = 'PullSecretError';
}

export interface PullSecret {
  /** Content digest of the entries (keys clients; never log it). */
  readonly id: string;
  /** Where it came from (`Secret clusters/pull-secret`), for messages. */
  readonly source: string;
  /** Registries (or namespaces) it has credentials for, sorted: safe to log. */
  readonly registries: readonly string[];
  credentials(): CredentialStore;
}

/** A Secret object (as the API or an informer returns it) → its parsed `.dockerconfigjson`. */
export function pullSecretFromSecret(secret: KubeObject): PullSecret {
  const where = `Secret ${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? ''}`;
  const type = (secret as { type?: unknown }).type;
  if (type !== DOCKER_CONFIG_JSON_TYPE) {
    throw new PullSecretError(
      `${where}: type is ${JSON.stringify(type ?? null)}, expected ${DOCKER_CONFIG_JSON_TYPE}`,
    );
  }
  const data = (secret as { data?: unknown }).data;
  const encoded = isObject(data) ? data[DOCKER_CONFIG_JSON_KEY] : undefined;
  if (typeof encoded !== 'string' || encoded === '') {
    throw new PullSecretError(`${where}: data["${DOCKER_CONFIG_JSON_KEY}"] is missing or empty`);
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) {
    throw new PullSecretError(`${where}: data["${DOCKER_CONFIG_JSON_KEY}"] is not base64`);
  }
  return pullSecretFromDockerConfig(Buffer.from(encoded, 'base64').toString('utf8'), where);
}

/** The decoded `.dockerconfigjson` text → PullSecret (the same parser as auth files). */
export function pullSecretFromDockerConfig(text: string, where: string): PullSecret {
  let entries: AuthEntries;
  try {
    entries = parseAuthFile(text, where);
  } catch (err) {
    // parseAuthFile never quotes the text; keep its reason, drop the "auth file" wording.
    const reason = err instanceof RegistryError ? err.reason : String(err);
    throw new PullSecretError(reason.replace(/^auth file /, ''));
  }
  const sorted = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const id = createHash('sha256')
    .update(JSON.stringify(sorted.map(([k, c]) => [k, c.username, c.password])))
    .digest('hex');
  return {
    id,
    source: where,
    registries: sorted.map(([key]) => key),
    credentials: () => new EntriesCredentialStore(entries),
  };
}

/** The auth-file lookup rules (longest namespace first, then host) over in-memory entries. */
class EntriesCredentialStore extends CredentialStore {
  readonly #entries: AuthEntries;

  constructor(entries: AuthEntries) {
    super(undefined);
    this.#entries = entries;
  }

  override lookup(
    ref: Pick<ImageReference, 'registry' | 'repository'>,
  ): Promise<Credentials | undefined> {
    return Promise.resolve(lookupCredentials(this.#entries, ref));
  }
}
