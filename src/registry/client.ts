import { Authenticator } from './auth.js';
import { CredentialStore, type AuthFileEnv } from './authfile.js';
import { ContentCache } from './cache.js';
import { SingleFlight } from './concurrency.js';
import { digestOf, isDigest, parseDigest, verifyDigest } from './digest.js';
import { RegistryError, type RegistryErrorInit } from './errors.js';
import {
  HttpTransport,
  readBody,
  type HttpResponse,
  type RequestEvent,
  type RequestStats,
  type RequestSpec,
} from './http.js';
import { LayerFormatError, scanLayerStream, type LayerCompression } from './layer-scan.js';
import {
  bareMediaType,
  formatPlatform,
  isIndex,
  isIndexMediaType,
  listPlatforms,
  MANIFEST_ACCEPT,
  OCI_INDEX,
  parseManifest,
  selectPlatform,
  type ManifestJson,
  type ManifestMediaType,
  type Platform,
} from './manifest.js';
import { manifestReference, toReference, type ImageReference } from './reference.js';
import { retryPolicy, type RetryOptions } from './retry.js';

export interface RegistryClientOptions {
  /** Auth file to use instead of the default search (see authfile.ts). */
  authfile?: string;
  /** Credentials to use instead of the auth files (a cluster pull secret held in memory). */
  credentials?: CredentialStore;
  /** Registries spoken to over plain HTTP, as `host[:port]` (e.g. `127.0.0.1:5000`). */
  insecureRegistries?: string[];
  /** Requests in flight at once across the whole client. Default 8. */
  concurrency?: number;
  /** Content-addressed cache of manifests and small blobs, shareable between processes. */
  cacheDir?: string;
  retry?: RetryOptions;
  userAgent?: string;
  /** Called once per HTTP request sent (retries and redirects included). */
  onRequest?: (event: RequestEvent) => void;
  /** Transport timeouts in ms. Defaults: connect 10 000, headers 30 000, body idle 30 000. */
  timeouts?: { connectMs?: number; headersMs?: number; bodyMs?: number };
  /** Where REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR, DOCKER_CONFIG and the home directory come from. */
  authEnv?: AuthFileEnv;
  /** Largest manifest accepted (default 4 MiB, distribution's own limit). */
  maxManifestBytes?: number;
  /** Largest blob {@link RegistryClient.fetchBlob} buffers (default 64 MiB). */
  maxBlobBytes?: number;
}

export interface Manifest {
  digest: string;
  mediaType: ManifestMediaType;
  bytes: Buffer;
  json: ManifestJson;
}

export interface ManifestHead {
  digest: string;
  mediaType: string;
  size: number;
}

export interface LayerScanResult {
  /** Wanted path (normalised: no leading `./` or `/`) → contents. */
  files: Map<string, Buffer>;
  /** Compressed bytes downloaded by the successful attempt. */
  bytesRead: number;
  /** True when the whole blob was read (and therefore digest-verified). */
  complete: boolean;
  /** True when the blob's digest was checked; false for a scan stopped early. */
  verified: boolean;
  compression: LayerCompression;
}

export interface PushBlobResult {
  digest: string;
  size: number;
  /** True when the registry already had it (HEAD 200) and nothing was uploaded. */
  existed: boolean;
}

type RepoInput = string | ImageReference;

const DEFAULT_USER_AGENT = 'streamguard-registry-client/0.1';
const PULL = 'pull';
const PUSH = 'pull,push';

/**
 * An OCI distribution client for planning mirrors: manifests (with the full Accept list, digest
 * and media-type checks, per-platform resolution), small blobs, early-stopping layer scans, and
 * the push calls needed to publish. Requests are bounded (semaphore, retries), identical
 * concurrent fetches share one request, and content fetched by digest can be kept in a
 * content-addressed cache directory shared between processes.
 *
 * Call {@link close} when done (it closes pooled connections).
 */
export class RegistryClient {
  private readonly transport: HttpTransport;
  private readonly auth: Authenticator;
  private readonly cache: ContentCache | undefined;
  private readonly manifestFlight = new SingleFlight<Manifest>();
  private readonly blobFlight = new SingleFlight<Buffer>();
  private readonly maxManifestBytes: number;
  private readonly maxBlobBytes: number;

  constructor(options: RegistryClientOptions = {}) {
    this.transport = new HttpTransport({
      userAgent: options.userAgent ?? DEFAULT_USER_AGENT,
      concurrency: options.concurrency ?? 8,
      retry: retryPolicy(options.retry),
      insecureRegistries: options.insecureRegistries ?? [],
      timeouts: {
        connectMs: options.timeouts?.connectMs ?? 10_000,
        headersMs: options.timeouts?.headersMs ?? 30_000,
        bodyMs: options.timeouts?.bodyMs ?? 30_000,
      },
      onRequest: options.onRequest,
    });
    this.auth = new Authenticator({
      transport: this.transport,
      credentials: options.credentials ?? new CredentialStore(options.authfile, options.authEnv),
    });
    this.transport.authorizer = this.auth;
    this.cache = options.cacheDir === undefined ? undefined : new ContentCache(options.cacheDir);
    this.maxManifestBytes = options.maxManifestBytes ?? 4 * 1024 * 1024;
    this.maxBlobBytes = options.maxBlobBytes ?? 64 * 1024 * 1024;
  }

  /** Requests sent so far, by kind, plus the total and how many were retries. */
  stats(): RequestStats {
    return this.transport.stats();
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  /**
   * Gets one token for several repositories of a registry at once (`repository:<name>:pull` for
   * each), so the requests that follow need no token request of their own. No-op for registries
   * that do not use Bearer tokens.
   */
  async authorizeRepositories(
    registry: string,
    repositories: string[],
    push = false,
  ): Promise<void> {
    const actions = push ? PUSH : PULL;
    await this.auth.prefetch(
      registry,
      repositories.map((r) => `repository:${r}:${actions}`),
    );
  }

  /**
   * The manifest `ref` names (tag or digest), fetched with an Accept list of OCI index, OCI
   * manifest, Docker manifest list and Docker v2 manifest. The bytes are checked against the
   * digest in the reference and against `Docker-Content-Digest`; a body `mediaType` must equal the
   * Content-Type. With `platform`, an index or manifest list is resolved to the child for that
   * platform (PLATFORM_NOT_FOUND lists the platforms available); a single-platform manifest is
   * returned as it is.
   *
   * Manifests fetched by digest come from the cache directory when there; by tag they are always
   * fetched (tags move) and then stored by digest.
   */
  async getManifest(ref: RepoInput, opts: { platform?: Platform } = {}): Promise<Manifest> {
    const image = toReference(ref);
    const manifest = await this.fetchManifest(image);
    if (opts.platform === undefined || !isIndex(manifest.json)) return manifest;
    const child = selectPlatform(manifest.json, opts.platform);
    if (!child) {
      const available = listPlatforms(manifest.json);
      throw new RegistryError(
        `no manifest for platform ${formatPlatform(opts.platform)} in the ${manifest.mediaType === OCI_INDEX ? 'OCI index' : 'manifest list'} ${manifest.digest}; available: ${available.length > 0 ? available.join(', ') : 'none'}`,
        { ...whereOf(image), code: 'PLATFORM_NOT_FOUND' },
      );
    }
    const resolved = await this.fetchManifest({
      registry: image.registry,
      repository: image.repository,
      digest: child.digest,
    });
    if (isIndexMediaType(resolved.mediaType)) {
      throw new RegistryError(`platform entry ${child.digest} is itself an index`, {
        ...whereOf(image),
        code: 'INVALID_MANIFEST',
      });
    }
    return resolved;
  }

  private fetchManifest(image: ImageReference): Promise<Manifest> {
    const reference = manifestReference(image);
    const key = `${image.registry}/${image.repository}@${reference}`;
    return this.manifestFlight.run(key, async () => {
      const where = whereOf(image);
      if (image.digest !== undefined && this.cache) {
        const cached = await this.cache.get(image.digest).catch(() => undefined);
        if (cached) {
          try {
            return {
              digest: image.digest,
              ...parseManifest(cached, undefined, where),
              bytes: cached,
            };
          } catch {
            // A valid blob that is not a manifest we understand: fetch it as the registry serves it.
          }
        }
      }
      const manifest = await this.transport.request(
        {
          kind: 'manifest',
          method: 'GET',
          url: this.url(image, `manifests/${reference}`),
          headers: { accept: MANIFEST_ACCEPT.join(', ') },
          where,
          auth: { registry: image.registry, scope: scopeFor(image, PULL) },
        },
        async (res) => {
          const bytes = await readBody(res.body, res.header, this.maxManifestBytes, where);
          const digest = checkDigests(
            bytes,
            image.digest,
            res.header('docker-content-digest'),
            where,
          );
          const { mediaType, json } = parseManifest(bytes, res.header('content-type'), where);
          return { digest, mediaType, bytes, json };
        },
      );
      await this.store(manifest.digest, manifest.bytes);
      return manifest;
    });
  }

  /**
   * Digest, media type and size of a manifest without its body (HEAD), or undefined when the
   * registry says it does not exist (404, MANIFEST_UNKNOWN, NAME_UNKNOWN). A registry that omits
   * `Docker-Content-Digest` is answered with a GET instead.
   */
  async headManifest(ref: RepoInput): Promise<ManifestHead | undefined> {
    const image = toReference(ref);
    const where = whereOf(image);
    const head = await this.transport.request(
      {
        kind: 'manifest',
        method: 'HEAD',
        url: this.url(image, `manifests/${manifestReference(image)}`),
        headers: { accept: MANIFEST_ACCEPT.join(', ') },
        where,
        auth: { registry: image.registry, scope: scopeFor(image, PULL) },
        okStatuses: [404],
      },
      async (res) => {
        await res.discard();
        if (res.status === 404) return null;
        const digest = res.header('docker-content-digest');
        const length = Number(res.header('content-length'));
        return {
          digest,
          mediaType: bareMediaType(res.header('content-type')) ?? '',
          size: Number.isSafeInteger(length) ? length : undefined,
        };
      },
    );
    if (head === null) return undefined;
    if (head.digest !== undefined && isDigest(head.digest) && head.size !== undefined) {
      if (image.digest !== undefined && head.digest !== image.digest) {
        throw new RegistryError(`HEAD answered with digest ${head.digest}`, {
          ...where,
          code: 'DIGEST_MISMATCH',
        });
      }
      return { digest: head.digest, mediaType: head.mediaType, size: head.size };
    }
    const manifest = await this.fetchManifest(image);
    return { digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.bytes.length };
  }

  /** A whole blob (meant for small ones: image configs), verified against `digest`. */
  async fetchBlob(repo: RepoInput, digest: string): Promise<Buffer> {
    const image = toReference(repo);
    const where = { ...whereOf(image), reference: digest };
    parseDigest(digest, where);
    return this.blobFlight.run(`${image.registry}/${image.repository}@${digest}`, async () => {
      if (this.cache) {
        const cached = await this.cache.get(digest).catch(() => undefined);
        if (cached) return cached;
      }
      const bytes = await this.transport.request(
        this.blobGet(image, digest, where),
        async (res) => {
          const body = await readBody(res.body, res.header, this.maxBlobBytes, where);
          verifyDigest(body, digest, where);
          return body;
        },
      );
      await this.store(digest, bytes);
      return bytes;
    });
  }

  /**
   * Streams the layer blob `digest`, decompresses it (gzip or plain tar, told apart by magic
   * bytes), and returns the contents of the tar entries `wanted` accepts. The download is aborted
   * as soon as `done(found)` returns true, so a layer whose wanted files come first costs only a
   * few hundred kilobytes however large it is; `bytesRead` tells how much was downloaded.
   *
   * Only a blob read to its end can be digest-verified (then `verified` is true and a mismatch is
   * an error). A scan stopped early returns files from a blob whose remaining bytes were never
   * seen, so their integrity rests on the transport (TLS) and on the manifest that named the
   * digest, not on the digest itself.
   */
  async scanLayer(
    repo: RepoInput,
    digest: string,
    wanted: (path: string) => boolean,
    done: (found: Map<string, Buffer>) => boolean,
  ): Promise<LayerScanResult> {
    const image = toReference(repo);
    const where = { ...whereOf(image), reference: digest };
    const { algorithm } = parseDigest(digest, where);
    return this.transport.request(this.blobGet(image, digest, where), async (res) => {
      const declared = Number(res.header('content-length'));
      let scan;
      try {
        scan = await scanLayerStream(res.body as AsyncIterable<Buffer>, {
          wanted,
          done,
          algorithm,
        });
      } catch (err) {
        if (err instanceof LayerFormatError) {
          throw new RegistryError(`layer is not a readable tar: ${err.message}`, {
            ...where,
            code: 'INVALID_LAYER',
          });
        }
        throw err;
      }
      if (scan.complete) {
        if (Number.isSafeInteger(declared) && scan.bytesRead < declared) {
          throw new RegistryError(`body cut short: ${scan.bytesRead} of ${declared} bytes`, {
            ...where,
            code: 'TRUNCATED',
          });
        }
        if (scan.digest !== digest) {
          throw new RegistryError(`layer content does not match its digest: got ${scan.digest}`, {
            ...where,
            code: 'DIGEST_MISMATCH',
          });
        }
      }
      return {
        files: scan.files,
        bytesRead: scan.bytesRead,
        complete: scan.complete,
        verified: scan.complete,
        compression: scan.compression,
      };
    });
  }

  /**
   * Uploads a blob in one piece (POST, then PUT with the digest) unless the repository already
   * has it (HEAD). Cross-repository mounts are not attempted.
   */
  async pushBlob(repo: RepoInput, bytes: Buffer): Promise<PushBlobResult> {
    const image = toReference(repo);
    const digest = digestOf(bytes);
    const where = { ...whereOf(image), reference: digest };
    const auth = { registry: image.registry, scope: scopeFor(image, PUSH) };
    const exists = await this.transport.request(
      {
        kind: 'push',
        method: 'HEAD',
        url: this.url(image, `blobs/${digest}`),
        where,
        auth,
        okStatuses: [404],
      },
      async (res) => {
        await res.discard();
        return res.status !== 404;
      },
    );
    if (exists) return { digest, size: bytes.length, existed: true };

    const location = await this.transport.request(
      {
        kind: 'push',
        method: 'POST',
        url: `${this.url(image, 'blobs/uploads/')}`,
        headers: { 'content-length': '0' },
        where,
        auth,
      },
      async (res) => {
        await res.discard();
        const loc = res.header('location');
        if (res.status !== 202 || loc === undefined) {
          throw new RegistryError(`upload not started (HTTP ${res.status}, no Location)`, {
            ...where,
            status: res.status,
            code: 'HTTP',
          });
        }
        return new URL(loc, this.transport.baseUrl(image.registry)).toString();
      },
    );
    const putUrl = new URL(location);
    putUrl.searchParams.set('digest', digest);
    await this.transport.request(
      {
        kind: 'push',
        method: 'PUT',
        url: putUrl.toString(),
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(bytes.length),
        },
        body: bytes,
        where,
        auth,
      },
      async (res) => {
        await res.discard();
        const echoed = res.header('docker-content-digest');
        if (echoed !== undefined && echoed !== digest) {
          throw new RegistryError(`registry stored the blob as ${echoed}`, {
            ...where,
            code: 'DIGEST_MISMATCH',
          });
        }
      },
    );
    return { digest, size: bytes.length, existed: false };
  }

  /**
   * Stores a manifest under a tag or its digest and returns its digest. A digest reference must
   * match the bytes. The blobs it references must already be in the repository.
   */
  async pushManifest(
    repo: RepoInput,
    tagOrDigest: string,
    mediaType: string,
    bytes: Buffer,
  ): Promise<string> {
    const image = toReference(repo);
    const where = { ...whereOf(image), reference: tagOrDigest };
    const digest = digestOf(bytes);
    if (tagOrDigest.includes(':')) {
      verifyDigest(bytes, tagOrDigest, where);
    } else if (!/^[\w][\w.-]{0,127}$/.test(tagOrDigest)) {
      throw new RegistryError(`invalid tag ${JSON.stringify(tagOrDigest.slice(0, 140))}`, {
        ...where,
        code: 'INVALID_REFERENCE',
      });
    }
    await this.transport.request(
      {
        kind: 'push',
        method: 'PUT',
        url: this.url(image, `manifests/${tagOrDigest}`),
        headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
        body: bytes,
        where,
        auth: { registry: image.registry, scope: scopeFor(image, PUSH) },
      },
      async (res) => {
        await res.discard();
        const echoed = res.header('docker-content-digest');
        if (echoed !== undefined && echoed !== digest) {
          throw new RegistryError(`registry stored the manifest as ${echoed}`, {
            ...where,
            code: 'DIGEST_MISMATCH',
          });
        }
      },
    );
    await this.store(digest, bytes);
    return digest;
  }

  /**
   * All tags of a repository, following `Link: <…>; rel="next"` pages (at most `maxPages`,
   * default 1000, of `pageSize` tags each).
   */
  async listTags(
    repo: RepoInput,
    opts: { pageSize?: number; maxPages?: number } = {},
  ): Promise<string[]> {
    const image = toReference(repo);
    const where = whereOf({ registry: image.registry, repository: image.repository });
    const tags: string[] = [];
    let next: string | undefined = `${this.url(image, 'tags/list')}?n=${opts.pageSize ?? 1000}`;
    const maxPages = opts.maxPages ?? 1000;
    for (let page = 0; next !== undefined; page++) {
      if (page >= maxPages) {
        throw new RegistryError(`more than ${maxPages} pages of tags`, {
          ...where,
          code: 'TOO_LARGE',
        });
      }
      const url: string = next;
      const result = await this.transport.request(
        {
          kind: 'tags',
          method: 'GET',
          url,
          where,
          auth: { registry: image.registry, scope: scopeFor(image, PULL) },
        },
        async (res: HttpResponse) => {
          const body = await readBody(res.body, res.header, 16 * 1024 * 1024, where);
          let json: unknown;
          try {
            json = JSON.parse(body.toString('utf8'));
          } catch {
            throw new RegistryError('tag list is not JSON', { ...where, code: 'HTTP' });
          }
          const list = (json as { tags?: unknown } | null)?.tags;
          const page = Array.isArray(list)
            ? list.filter((t): t is string => typeof t === 'string')
            : [];
          return { page, link: nextLink(res.header('link'), url) };
        },
      );
      tags.push(...result.page);
      next = result.link;
    }
    return tags;
  }

  /** GET of a blob by digest, with pull scope on its repository. */
  private blobGet(image: ImageReference, digest: string, where: RegistryErrorInit): RequestSpec {
    return {
      kind: 'blob',
      method: 'GET',
      url: this.url(image, `blobs/${digest}`),
      where,
      auth: { registry: image.registry, scope: scopeFor(image, PULL) },
    };
  }

  private url(image: ImageReference, path: string): string {
    return `${this.transport.baseUrl(image.registry)}/v2/${image.repository}/${path}`;
  }

  private async store(digest: string, bytes: Buffer): Promise<void> {
    // Best effort: a full disk or a read-only cache must not fail a fetch that succeeded.
    await this.cache?.put(digest, bytes).catch(() => undefined);
  }
}

function whereOf(image: ImageReference): RegistryErrorInit {
  return {
    registry: image.registry,
    repository: image.repository,
    reference: image.digest ?? image.tag,
  };
}

function scopeFor(image: ImageReference, actions: string): string {
  return `repository:${image.repository}:${actions}`;
}

/**
 * The manifest's digest after the checks: the bytes must hash to the digest asked for (digest
 * references) and to `Docker-Content-Digest` when the registry sends one (with that header's
 * algorithm). Without either, sha256 of the bytes.
 */
function checkDigests(
  bytes: Buffer,
  requested: string | undefined,
  header: string | undefined,
  where: RegistryErrorInit,
): string {
  if (requested !== undefined) verifyDigest(bytes, requested, where);
  if (header !== undefined && header.trim() !== '') {
    const echoed = header.trim();
    if (!isDigest(echoed)) {
      throw new RegistryError(
        `unusable Docker-Content-Digest ${JSON.stringify(echoed.slice(0, 80))}`,
        {
          ...where,
          code: 'INVALID_DIGEST',
        },
      );
    }
    verifyDigest(bytes, echoed, where);
    return requested ?? echoed;
  }
  return requested ?? digestOf(bytes);
}

/** `<url>; rel="next"` from a Link header, resolved against the request URL. */
export function nextLink(header: string | undefined, base: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (match && /(^|;)\s*rel="?next"?\s*(;|$)/i.test(match[2] ?? '')) {
      return new URL(match[1] ?? '', base).toString();
    }
  }
  return undefined;
}
