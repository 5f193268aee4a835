import type { CredentialStore, Credentials } from './authfile.js';
import { SingleFlight } from './concurrency.js';
import { RegistryError } from './errors.js';
import { readBody, type Authorizer, type HttpTransport } from './http.js';

/** One parsed `WWW-Authenticate` challenge. Parameter names are lower-cased. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses `WWW-Authenticate` (RFC 9110 §11.6.1): one or more challenges, each a scheme followed by
 * comma-separated `name=value` or `name="quoted \" value"` parameters. Unparsable input gives what
 * could be read so far (never throws).
 */
export function parseWwwAuthenticate(header: string | undefined): Challenge[] {
  if (header === undefined) return [];
  const out: Challenge[] = [];
  const text = header;
  let i = 0;
  const skip = (re: RegExp) => {
    while (i < text.length && re.test(text.charAt(i))) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < text.length && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(text.charAt(i))) i++;
    return text.slice(start, i);
  };
  let current: Challenge | undefined;
  for (let guard = 0; i < text.length && guard < 1000; guard++) {
    skip(/[\s,]/);
    const name = token();
    if (name === '') {
      i++;
      continue;
    }
    skip(/\s/);
    if (text.charAt(i) === '=' && current) {
      i++;
      skip(/\s/);
      let value: string;
      if (text.charAt(i) === '"') {
        i++;
        value = '';
        while (i < text.length && text.charAt(i) !== '"') {
          if (text.charAt(i) === '\\' && i + 1 < text.length) i++;
          value += text.charAt(i);
          i++;
        }
        i++;
      } else {
        value = token();
      }
      current.params[name.toLowerCase()] = value;
    } else {
      // token68 forms (`Negotiate abc==`) are not used by registries; a bare word starts a challenge.
      current = { scheme: name.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}

/** What the registry wants, learnt from `/v2/` (or a later 401). */
export type RegistryAuth =
  | { scheme: 'none' }
  | { scheme: 'basic' }
  | { scheme: 'bearer'; realm: string; service: string | undefined };

export function authFromChallenges(challenges: Challenge[]): RegistryAuth | undefined {
  const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
  if (bearer?.params.realm) {
    return { scheme: 'bearer', realm: bearer.params.realm, service: bearer.params.service };
  }
  if (challenges.some((c) => c.scheme === 'basic')) return { scheme: 'basic' };
  return undefined;
}

/** `repository:a/b:pull,push` → `{ resource: 'repository:a/b', actions: ['pull','push'] }`. */
export function parseScope(scope: string): { resource: string; actions: string[] } {
  const colon = scope.lastIndexOf(':');
  if (colon < 0) return { resource: scope, actions: [] };
  return {
    resource: scope.slice(0, colon),
    actions: scope
      .slice(colon + 1)
      .split(',')
      .filter((a) => a !== ''),
  };
}

/** True when a token granted for `granted` scopes covers `needed`. */
export function scopesCover(granted: readonly string[], needed: string): boolean {
  const want = parseScope(needed);
  const have = new Set<string>();
  for (const scope of granted) {
    const parsed = parseScope(scope);
    if (parsed.resource === want.resource) for (const a of parsed.actions) have.add(a);
  }
  return want.actions.every((a) => have.has(a) || have.has('*'));
}

interface CachedToken {
  realm: string;
  service: string | undefined;
  scopes: string[];
  value: string;
  /** When to fetch a new one (before expiry). */
  renewAt: number;
  expiresAt: number;
}

export interface TokenTiming {
  /** Lifetime in seconds from the response (`expires_in`, default 60). */
  expiresIn: number;
  /** Start of the lifetime, ms since the epoch. */
  issuedAt: number;
  renewAt: number;
  expiresAt: number;
}

/**
 * When a token expires and when to renew it. `issued_at` is used when it is plausible (not in the
 * future, not older than the lifetime), which corrects for time spent in transit; otherwise the
 * local receipt time. Renewal happens a fifth of the lifetime (at most 30 s) before expiry.
 */
export function tokenTiming(expiresIn: unknown, issuedAt: unknown, now: number): TokenTiming {
  const lifetime =
    typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 60;
  let start = now;
  if (typeof issuedAt === 'string') {
    const parsed = Date.parse(issuedAt);
    if (!Number.isNaN(parsed) && parsed <= now && parsed >= now - lifetime * 1000) start = parsed;
  }
  const expiresAt = start + lifetime * 1000;
  const margin = Math.min(30_000, (lifetime * 1000) / 5);
  return { expiresIn: lifetime, issuedAt: start, renewAt: expiresAt - margin, expiresAt };
}

export interface AuthenticatorOptions {
  transport: HttpTransport;
  credentials: CredentialStore;
  now?: () => number;
}

/**
 * Registry authentication: one `/v2/` ping per registry learns the challenge (none, Basic or
 * Bearer). Basic sends the auth-file credentials on every request. Bearer fetches a token from the
 * realm (with the credentials as Basic, when there are any; anonymous otherwise), caches it per
 * (realm, service, sorted scope set), reuses it for any request its scopes cover, renews it before
 * it expires and drops it when the registry answers 401 anyway (the request is then retried once).
 * Credentials and tokens appear only in Authorization headers, never in errors or events.
 */
export class Authenticator implements Authorizer {
  private readonly registries = new Map<string, Promise<RegistryAuth>>();
  private readonly tokens: CachedToken[] = [];
  private readonly tokenFlight = new SingleFlight<CachedToken>();
  private readonly now: () => number;

  constructor(private readonly options: AuthenticatorOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Fetches one token covering several scopes (e.g. every repository of a plan) up front. */
  async prefetch(registry: string, scopes: string[]): Promise<void> {
    const auth = await this.registryAuth(registry);
    if (auth.scheme !== 'bearer') return;
    const creds = await this.options.credentials.lookup(registryKey(registry, scopes[0]));
    await this.token(registry, auth, scopes, creds);
  }

  async authorization(registry: string, scope: string): Promise<string | undefined> {
    const auth = await this.registryAuth(registry);
    if (auth.scheme === 'none') return undefined;
    const creds = await this.options.credentials.lookup(registryKey(registry, scope));
    if (auth.scheme === 'basic') {
      return creds ? basicHeader(creds) : undefined;
    }
    const token = await this.token(registry, auth, [scope], creds);
    return `Bearer ${token.value}`;
  }

  async unauthorized(
    registry: string,
    scope: string,
    challenge: string | undefined,
    used: string | undefined,
  ): Promise<{ retry: boolean; hint?: string }> {
    const creds = await this.options.credentials.lookup(registryKey(registry, scope));
    const learnt = authFromChallenges(parseWwwAuthenticate(challenge));
    const previous = await this.registryAuth(registry);
    if (learnt && !sameAuth(learnt, previous)) {
      this.registries.set(registry, Promise.resolve(learnt));
      return {
        retry: learnt.scheme === 'bearer' || creds !== undefined,
        hint: noCredsHint(creds, registry),
      };
    }
    if (used?.startsWith('Bearer ')) {
      const value = used.slice('Bearer '.length);
      const index = this.tokens.findIndex((t) => t.value === value);
      if (index >= 0) this.tokens.splice(index, 1);
      return { retry: true, hint: noCredsHint(creds, registry) };
    }
    return {
      retry: false,
      hint:
        creds === undefined
          ? noCredsHint(creds, registry)
          : `the registry refused the credentials for ${registry} from the auth file`,
    };
  }

  private registryAuth(registry: string): Promise<RegistryAuth> {
    let known = this.registries.get(registry);
    if (!known) {
      known = this.ping(registry);
      this.registries.set(registry, known);
      // A failed ping is not remembered: the next request pings again.
      known.catch(() => {
        if (this.registries.get(registry) === known) this.registries.delete(registry);
      });
    }
    return known;
  }

  private async ping(registry: string): Promise<RegistryAuth> {
    const { transport } = this.options;
    return transport.request(
      {
        kind: 'ping',
        method: 'GET',
        url: `${transport.baseUrl(registry)}/v2/`,
        where: { registry },
        okStatuses: [401],
      },
      async (res) => {
        await res.discard();
        if (res.status !== 401) return { scheme: 'none' } as const;
        const auth = authFromChallenges(parseWwwAuthenticate(res.header('www-authenticate')));
        if (!auth) {
          throw new RegistryError('401 from /v2/ without a Basic or Bearer challenge', {
            registry,
            status: 401,
            code: 'UNAUTHORIZED',
          });
        }
        return auth;
      },
    );
  }

  private async token(
    registry: string,
    auth: Extract<RegistryAuth, { scheme: 'bearer' }>,
    scopes: string[],
    creds: Credentials | undefined,
  ): Promise<CachedToken> {
    const now = this.now();
    // Drop what has expired, then reuse any live token whose scopes cover every scope asked for.
    for (let i = this.tokens.length - 1; i >= 0; i--) {
      if ((this.tokens[i]?.renewAt ?? 0) <= now) this.tokens.splice(i, 1);
    }
    const reusable = this.tokens.find(
      (t) =>
        t.realm === auth.realm &&
        t.service === auth.service &&
        scopes.every((s) => scopesCover(t.scopes, s)),
    );
    if (reusable) return reusable;
    const sorted = [...new Set(scopes)].sort();
    const key = [auth.realm, auth.service ?? '', ...sorted].join('\n');
    return this.tokenFlight.run(key, async () => {
      const token = await this.fetchToken(registry, auth, sorted, creds);
      this.tokens.push(token);
      return token;
    });
  }

  private async fetchToken(
    registry: string,
    auth: Extract<RegistryAuth, { scheme: 'bearer' }>,
    scopes: string[],
    creds: Credentials | undefined,
  ): Promise<CachedToken> {
    const url = new URL(auth.realm);
    if (auth.service !== undefined) url.searchParams.set('service', auth.service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (creds) headers.authorization = basicHeader(creds);
    const where = { registry };
    const body = await this.options.transport.request(
      { kind: 'token', method: 'GET', url: url.toString(), headers, where },
      (res) => readBody(res.body, res.header, 1024 * 1024, where),
    );
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw new RegistryError('token server answered with something other than JSON', {
        ...where,
        code: 'TOKEN',
      });
    }
    const fields = (typeof json === 'object' && json !== null ? json : {}) as Record<
      string,
      unknown
    >;
    const value =
      typeof fields.token === 'string' && fields.token !== ''
        ? fields.token
        : typeof fields.access_token === 'string'
          ? fields.access_token
          : '';
    if (value === '' || /[\s]/.test(value)) {
      throw new RegistryError('token server response has no usable token', {
        ...where,
        code: 'TOKEN',
      });
    }
    const timing = tokenTiming(fields.expires_in, fields.issued_at, this.now());
    return {
      realm: auth.realm,
      service: auth.service,
      scopes,
      value,
      renewAt: timing.renewAt,
      expiresAt: timing.expiresAt,
    };
  }
}

function registryKey(registry: string, scope: string | undefined) {
  const resource = scope === undefined ? '' : parseScope(scope).resource;
  const repository = resource.startsWith('repository:') ? resource.slice('repository:'.length) : '';
  return { registry, repository };
}

function basicHeader(creds: Credentials): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
}

function sameAuth(a: RegistryAuth, b: RegistryAuth): boolean {
  if (a.scheme !== b.scheme) return false;
  if (a.scheme === 'bearer' && b.scheme === 'bearer') {
    return a.realm === b.realm && a.service === b.service;
  }
  return true;
}

function noCredsHint(creds: Credentials | undefined, registry: string): string | undefined {
  return creds === undefined
    ? `no credentials for ${registry} in the auth files (--authfile, $REGISTRY_AUTH_FILE, containers auth.json, docker config.json)`
    : undefined;
}
