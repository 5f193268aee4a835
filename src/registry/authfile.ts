import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { RegistryError } from './errors.js';
import { DOCKER_HUB, type ImageReference } from './reference.js';

/** A user name and password (or token used as password) for one registry or namespace. */
export interface Credentials {
  username: string;
  password: string;
}

export interface AuthFileEnv {
  /** Environment to read REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR and DOCKER_CONFIG from. */
  env?: Record<string, string | undefined>;
  /** Home directory (default: os.homedir()). */
  home?: string;
}

export interface AuthFileCandidate {
  path: string;
  /** True for --authfile and $REGISTRY_AUTH_FILE: the only file consulted. */
  explicit: boolean;
  /** Where the path came from, for messages. */
  source: 'authfile' | 'REGISTRY_AUTH_FILE' | 'XDG_RUNTIME_DIR' | 'config' | 'docker';
}

/**
 * The files consulted, in order, as containers/image does: a user-specified file (`--authfile`,
 * else `$REGISTRY_AUTH_FILE`) is the only one; otherwise `$XDG_RUNTIME_DIR/containers/auth.json`,
 * `~/.config/containers/auth.json`, then docker's `config.json` (`$DOCKER_CONFIG`, else
 * `~/.docker`). The first file with an entry for the image wins.
 */
export function authFileCandidates(
  authfile: string | undefined,
  { env = process.env, home = homedir() }: AuthFileEnv = {},
): AuthFileCandidate[] {
  if (authfile !== undefined && authfile !== '') {
    return [{ path: authfile, explicit: true, source: 'authfile' }];
  }
  const fromEnv = env.REGISTRY_AUTH_FILE;
  if (fromEnv !== undefined && fromEnv !== '') {
    return [{ path: fromEnv, explicit: true, source: 'REGISTRY_AUTH_FILE' }];
  }
  const out: AuthFileCandidate[] = [];
  const xdg = env.XDG_RUNTIME_DIR;
  if (xdg !== undefined && xdg !== '') {
    out.push({
      path: join(xdg, 'containers', 'auth.json'),
      explicit: false,
      source: 'XDG_RUNTIME_DIR',
    });
  }
  out.push({
    path: join(home, '.config', 'containers', 'auth.json'),
    explicit: false,
    source: 'config',
  });
  const dockerDir =
    env.DOCKER_CONFIG !== undefined && env.DOCKER_CONFIG !== ''
      ? env.DOCKER_CONFIG
      : join(home, '.docker');
  out.push({ path: join(dockerDir, 'config.json'), explicit: false, source: 'docker' });
  return out;
}

/** One parsed auth file: normalised key → credentials (entries without usable auth are dropped). */
export type AuthEntries = Map<string, Credentials>;

/**
 * Parses a containers `auth.json` or docker `config.json` (both have `auths.<key>.auth` =
 * base64 `user:password`; `username`/`password` fields are accepted too). Keys are normalised like
 * containers/image: `https://host/v1/` and other URL keys become the bare host, and
 * `index.docker.io`/`registry-1.docker.io` become `docker.io`; namespaced keys
 * (`quay.io/org/repo`) stay as they are. Credential helpers (`credHelpers`, `credsStore`) and
 * `identitytoken` are not supported: such entries are ignored.
 */
export function parseAuthFile(text: string, path: string): AuthEntries {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Never quote the file: it holds secrets.
    throw new RegistryError(`auth file ${path} is not valid JSON`, { code: 'AUTH_FILE' });
  }
  const entries: AuthEntries = new Map();
  if (typeof json !== 'object' || json === null) {
    throw new RegistryError(`auth file ${path} is not a JSON object`, { code: 'AUTH_FILE' });
  }
  const auths = (json as { auths?: unknown }).auths;
  if (auths === undefined) return entries;
  if (typeof auths !== 'object' || auths === null || Array.isArray(auths)) {
    throw new RegistryError(`auth file ${path}: "auths" is not an object`, { code: 'AUTH_FILE' });
  }
  for (const [key, value] of Object.entries(auths as Record<string, unknown>)) {
    const creds = entryCredentials(value);
    if (creds === undefined) continue;
    const normalized = normalizeAuthKey(key);
    // The first spelling wins when two keys normalise to the same name (as in containers/image,
    // where an exact key is looked up before the normalised legacy ones).
    if (!entries.has(normalized) || normalized === key) entries.set(normalized, creds);
  }
  return entries;
}

function entryCredentials(value: unknown): Credentials | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { auth, username, password } = value as Record<string, unknown>;
  if (typeof auth === 'string' && auth !== '') {
    const decoded = Buffer.from(auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return undefined;
    return {
      username: decoded.slice(0, colon),
      password: decoded.slice(colon + 1).replace(/\0+$/, ''),
    };
  }
  if (typeof username === 'string' && username !== '' && typeof password === 'string') {
    return { username, password };
  }
  return undefined;
}

export function normalizeAuthKey(key: string): string {
  let stripped = key.replace(/^https?:\/\//, '');
  if (stripped !== key) stripped = stripped.split('/')[0] ?? stripped;
  if (stripped === 'index.docker.io' || stripped === 'registry-1.docker.io') return DOCKER_HUB;
  return stripped;
}

/**
 * The keys to try for an image, most specific first: `reg/a/b/c`, `reg/a/b`, `reg/a`, `reg`.
 * (Docker Hub keys are `docker.io/library/x`, so `docker.io/library` matches official images.)
 */
export function authKeysFor(ref: Pick<ImageReference, 'registry' | 'repository'>): string[] {
  const keys: string[] = [];
  let name = ref.repository === '' ? ref.registry : `${ref.registry}/${ref.repository}`;
  for (;;) {
    keys.push(name);
    const slash = name.lastIndexOf('/');
    if (slash < 0) break;
    name = name.slice(0, slash);
  }
  return keys;
}

/** The credentials for `ref` in parsed entries: longest namespace prefix first, then the host. */
export function lookupCredentials(
  entries: AuthEntries,
  ref: Pick<ImageReference, 'registry' | 'repository'>,
): Credentials | undefined {
  for (const key of authKeysFor(ref)) {
    const creds = entries.get(key);
    if (creds) return creds;
  }
  return undefined;
}

/**
 * Finds credentials for images from the auth files; files are read once and kept. Missing files
 * are skipped, except an explicit `--authfile`, which must exist.
 */
export class CredentialStore {
  private loaded: Promise<{ path: string; entries: AuthEntries }[]> | undefined;

  constructor(
    private readonly authfile: string | undefined,
    private readonly envOptions: AuthFileEnv = {},
  ) {}

  async lookup(ref: Pick<ImageReference, 'registry' | 'repository'>) {
    this.loaded ??= this.load();
    for (const { entries } of await this.loaded) {
      const creds = lookupCredentials(entries, ref);
      if (creds) return creds;
    }
    return undefined;
  }

  private async load(): Promise<{ path: string; entries: AuthEntries }[]> {
    const out: { path: string; entries: AuthEntries }[] = [];
    for (const candidate of authFileCandidates(this.authfile, this.envOptions)) {
      let text: string;
      try {
        text = await readFile(candidate.path, 'utf8');
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if ((code === 'ENOENT' || code === 'ENOTDIR') && candidate.source !== 'authfile') continue;
        throw new RegistryError(
          `cannot read auth file ${candidate.path} (${candidate.source}): ${String(code ?? err)}`,
          { code: 'AUTH_FILE' },
        );
      }
      out.push({ path: candidate.path, entries: parseAuthFile(text, candidate.path) });
    }
    return out;
  }
}
