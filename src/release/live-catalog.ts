// Release data read live from registries, for the webhook in a cluster.
//
// API (what the live cluster context calls):
// - `release(pullspec)`: synchronous, never waits: the fetched release's ReleaseInfo (built by
//   StateReleaseCatalog from the same objects `release fetch` writes, so live and offline agree),
//   else the embedded catalog (source 'embedded'), exactly as offline;
// - `status(pullspec)`: 'unknown' (never asked) | 'pending' (a fetch is running) | 'fetched' |
//   'failed' (the last attempt failed; `failure(pullspec)` says why and when it is retried);
// - `prefetch(pullspec, pullSecret?)`: starts or joins the one fetch of that pullspec (call it
//   when a HostedCluster or NodePool appears, with the HostedCluster's pull secret);
// - `whenFetched(pullspec, pullSecret?)`: prefetch, then resolves with 'fetched' | 'failed'
//   (never rejects).
// Reads are keyed by the release image's manifest digest: a tag is resolved once (HEAD), every
// pullspec of one digest shares one read, and the data is kept in memory (bounded) and optionally
// on disk. A failure is remembered with exponential backoff; after it, the next prefetch, or
// release() itself, retries in the background. A different pull secret retries at once.

import type { Logger } from 'pino';
import type { BootImageCatalog, ReleaseCatalog, ReleaseInfo } from '../catalog/types.js';
import { normalizeArch } from '../mirror/arch.js';
import { readRelease } from '../mirror/release-reader.js';
import { formatRef, parseRef, type ImageRef } from '../mirror/ref.js';
import { SingleFlight } from '../registry/concurrency.js';
import { redact, RegistryError } from '../registry/errors.js';
import { parseReference } from '../registry/reference.js';
import { StateReleaseCatalog } from '../state/releases.js';
import type { RegistryClients } from './clients.js';
import { readReleaseData, writeReleaseData, type ReleaseData } from './disk-cache.js';
import type { PullSecret } from './pull-secret.js';
import { releaseStateObjects } from './state-objects.js';

export type ReleaseStatus = 'unknown' | 'pending' | 'fetched' | 'failed';

/** One settled fetch, for metrics. Never carries credentials. */
export interface ReleaseFetchEvent {
  pullspec: string;
  outcome: 'fetched' | 'failed';
  /** Where the data came from when fetched. */
  from?: 'memory' | 'disk' | 'registry';
  digest?: string;
  /** The failure, redacted. */
  error?: string;
  durationMs: number;
}

export interface ReleaseFailure {
  message: string;
  /** Consecutive failures. */
  failures: number;
  /** Epoch ms after which the next prefetch or release() retries. */
  retryAt: number;
}

export interface LiveReleaseCatalogOptions {
  clients: RegistryClients;
  /** Disk cache of release data by digest (survives restarts). */
  cacheDir?: string;
  /** Which child of a multi-arch release index to read (default x86_64). */
  arch?: string;
  logger?: Logger;
  onFetch?: (event: ReleaseFetchEvent) => void;
  /** Backoff after a failure: initial delay, doubled per failure up to the maximum. */
  backoff?: { initialMs?: number; maxMs?: number };
  /** Release data sets (by digest) kept in memory. Default 32. */
  maxReleases?: number;
  /** Pullspecs remembered (status and ReleaseInfo). Default 1024. */
  maxPullspecs?: number;
  /** Clock (tests move it past a backoff). */
  now?: () => number;
  /** The catalog for releases not fetched (tests inject one). */
  embedded?: () => BootImageCatalog;
}

interface Entry {
  state: Exclude<ReleaseStatus, 'unknown'>;
  info?: ReleaseInfo;
  flight?: Promise<void>;
  /** The latest pull secret given for this pullspec. */
  pullSecret?: PullSecret | undefined;
  /** The pull secret of the last attempt (its id only). */
  attemptSecret?: string | undefined;
  failure?: ReleaseFailure;
  /** The failure message last logged at warn level, so a repeated failure is logged once. */
  logged?: string;
}

export class LiveReleaseCatalog implements ReleaseCatalog {
  readonly #clients: RegistryClients;
  readonly #cacheDir: string | undefined;
  readonly #arch: string;
  readonly #logger: Logger | undefined;
  readonly #onFetch: ((event: ReleaseFetchEvent) => void) | undefined;
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #maxReleases: number;
  readonly #maxPullspecs: number;
  readonly #now: () => number;
  readonly #fallback: StateReleaseCatalog;
  readonly #embedded: (() => BootImageCatalog) | undefined;
  /** Pullspec → entry; insertion order is recency order. */
  readonly #entries = new Map<string, Entry>();
  /** `<arch>/<digest>` → release data; insertion order is recency order. */
  readonly #releases = new Map<string, ReleaseData>();
  readonly #reads = new SingleFlight<{ data: ReleaseData; from: 'disk' | 'registry' }>();

  constructor(options: LiveReleaseCatalogOptions) {
    this.#clients = options.clients;
    this.#cacheDir = options.cacheDir;
    this.#arch = normalizeArch(options.arch ?? 'x86_64', 'architecture');
    this.#logger = options.logger;
    this.#onFetch = options.onFetch;
    this.#initialMs = positive(options.backoff?.initialMs ?? 30_000, 'backoff.initialMs');
    this.#maxMs = positive(options.backoff?.maxMs ?? 10 * 60_000, 'backoff.maxMs');
    this.#maxReleases = positive(options.maxReleases ?? 32, 'maxReleases');
    this.#maxPullspecs = positive(options.maxPullspecs ?? 1024, 'maxPullspecs');
    this.#now = options.now ?? Date.now;
    this.#embedded = options.embedded;
    this.#fallback = new StateReleaseCatalog(
      [],
      options.embedded ? { embedded: options.embedded } : {},
    );
  }

  release(pullspec: string): ReleaseInfo {
    const key = pullspec.trim();
    const entry = this.#entries.get(key);
    if (entry) {
      this.#touch(key, entry);
      if (entry.info) return entry.info;
      if (entry.state === 'failed' && this.#now() >= (entry.failure?.retryAt ?? 0)) {
        this.#start(key, entry);
      }
    }
    return this.#fallback.release(key);
  }

  status(pullspec: string): ReleaseStatus {
    return this.#entries.get(pullspec.trim())?.state ?? 'unknown';
  }

  /** Why the last attempt failed, while the status is 'failed' (or a retry is pending). */
  failure(pullspec: string): ReleaseFailure | undefined {
    const entry = this.#entries.get(pullspec.trim());
    return entry?.info ? undefined : entry?.failure;
  }

  prefetch(pullspec: string, pullSecret?: PullSecret): void {
    this.#prefetch(pullspec.trim(), pullSecret);
  }

  async whenFetched(pullspec: string, pullSecret?: PullSecret): Promise<'fetched' | 'failed'> {
    const entry = this.#prefetch(pullspec.trim(), pullSecret);
    // A failed attempt may be followed at once by one with a newer pull secret (see #start).
    while (entry.flight) await entry.flight;
    return entry.state === 'fetched' ? 'fetched' : 'failed';
  }

  #prefetch(key: string, pullSecret: PullSecret | undefined): Entry {
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = { state: 'pending', pullSecret };
      this.#entries.set(key, entry);
      this.#start(key, entry);
      this.#evictEntries();
      return entry;
    }
    this.#touch(key, entry);
    if (pullSecret) entry.pullSecret = pullSecret;
    if (entry.state !== 'failed') return entry;
    const newSecret = pullSecret !== undefined && pullSecret.id !== entry.attemptSecret;
    if (newSecret || this.#now() >= (entry.failure?.retryAt ?? 0)) this.#start(key, entry);
    return entry;
  }

  #start(key: string, entry: Entry): void {
    if (entry.flight) return;
    entry.state = 'pending';
    entry.attemptSecret = entry.pullSecret?.id;
    const flight = this.#fetch(key, entry).finally(() => {
      entry.flight = undefined;
      // Another HostedCluster gave a different pull secret while this attempt ran (with a wrong
      // or missing one): try it now, rather than leave the release failed for every cluster
      // until the backoff ends. At most once per new secret.
      if (entry.state === 'failed' && entry.pullSecret?.id !== entry.attemptSecret) {
        this.#start(key, entry);
      }
    });
    entry.flight = flight;
  }

  /** One attempt; settles the entry and never rejects. */
  async #fetch(pullspec: string, entry: Entry): Promise<void> {
    const started = this.#now();
    try {
      const ref = parseRef(pullspec, 'release image');
      const { data, from } = await this.#data(ref, entry.pullSecret);
      const objects = releaseStateObjects({
        pullspec,
        digest: data.digest,
        version: data.version,
        imageReferences: data.imageReferences,
        ...(data.bootImages ? { bootImages: data.bootImages } : {}),
      });
      const catalog = new StateReleaseCatalog(
        objects,
        this.#embedded ? { embedded: this.#embedded } : {},
      );
      entry.info = catalog.release(pullspec);
      entry.state = 'fetched';
      if (entry.failure) {
        this.#logger?.info(
          { pullspec, digest: data.digest, failures: entry.failure.failures },
          'release data fetched after earlier failures',
        );
      }
      delete entry.failure;
      delete entry.logged;
      this.#onFetch?.({
        pullspec,
        outcome: 'fetched',
        from,
        digest: data.digest,
        durationMs: this.#now() - started,
      });
    } catch (err) {
      const message = describe(err) + credentialsNote(err, entry.pullSecret);
      const failures = (entry.failure?.failures ?? 0) + 1;
      const delay = Math.min(this.#maxMs, this.#initialMs * 2 ** Math.min(failures - 1, 30));
      entry.failure = { message, failures, retryAt: this.#now() + delay };
      entry.state = 'failed';
      const fields = { pullspec, error: message, failures, retryInMs: delay };
      if (entry.logged !== message) {
        entry.logged = message;
        this.#logger?.warn(fields, 'release data not fetched; the embedded catalog serves it');
      } else {
        this.#logger?.debug(fields, 'release data still not fetched');
      }
      this.#onFetch?.({
        pullspec,
        outcome: 'failed',
        error: message,
        durationMs: this.#now() - started,
      });
    }
  }

  /** The release data of `ref`: memory, else disk, else one registry read per digest. */
  async #data(
    ref: ImageRef,
    pullSecret: PullSecret | undefined,
  ): Promise<{ data: ReleaseData; from: 'memory' | 'disk' | 'registry' }> {
    const digest = ref.digest ?? (await this.#resolveTag(ref, pullSecret));
    const key = `${this.#arch}/${digest}`;
    const known = this.#releases.get(key);
    if (known) {
      this.#releases.delete(key);
      this.#releases.set(key, known);
      return { data: known, from: 'memory' };
    }
    return this.#reads.run(key, async () => {
      const cached = this.#cacheDir
        ? await readReleaseData(this.#cacheDir, this.#arch, digest)
        : undefined;
      const result = cached
        ? { data: cached, from: 'disk' as const }
        : { data: await this.#read({ ...ref, digest }, pullSecret), from: 'registry' as const };
      this.#releases.set(key, result.data);
      while (this.#releases.size > this.#maxReleases) {
        const oldest = this.#releases.keys().next().value;
        if (oldest === undefined) break;
        this.#releases.delete(oldest);
      }
      return result;
    });
  }

  async #resolveTag(ref: ImageRef, pullSecret: PullSecret | undefined): Promise<string> {
    const image = parseReference(formatRef(ref));
    const head = await this.#clients.use(pullSecret, (client) => client.headManifest(image));
    if (!head) {
      throw new RegistryError('release image not found', {
        registry: image.registry,
        repository: image.repository,
        reference: image.tag,
        code: 'MANIFEST_UNKNOWN',
      });
    }
    return head.digest;
  }

  async #read(ref: ImageRef, pullSecret: PullSecret | undefined): Promise<ReleaseData> {
    // By digest (tag kept: it names the architecture and version as the pullspec did).
    const read = await this.#clients.use(pullSecret, (client) =>
      readRelease(client, formatRef(ref), { withSizes: false, arch: this.#arch }),
    );
    const data: ReleaseData = {
      digest: read.digest,
      version: read.version,
      imageReferences: read.imageReferences,
      ...(read.bootImages ? { bootImages: read.bootImages } : {}),
    };
    if (this.#cacheDir) {
      await writeReleaseData(this.#cacheDir, this.#arch, data).catch((err: unknown) => {
        this.#logger?.warn(
          { digest: data.digest, error: describe(err) },
          'release data cache not written; the next restart reads the release again',
        );
      });
    }
    return data;
  }

  #touch(key: string, entry: Entry): void {
    this.#entries.delete(key);
    this.#entries.set(key, entry);
  }

  /** Forgets the least recently used settled pullspecs over the bound (never a running one). */
  #evictEntries(): void {
    for (const [key, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxPullspecs) return;
      if (!entry.flight) this.#entries.delete(key);
    }
  }
}

function describe(err: unknown): string {
  return redact(err instanceof Error ? err.message : String(err));
}

/** Auth failures say whose credentials were used: the client's hint speaks of auth files. */
function credentialsNote(err: unknown, pullSecret: PullSecret | undefined): string {
  const code = err instanceof RegistryError ? err.code : undefined;
  if (code !== 'UNAUTHORIZED' && code !== 'DENIED') return '';
  return pullSecret
    ? `; credentials from the pull secret ${pullSecret.source}`
    : '; no pull secret was given for this release';
}

function positive(value: number, what: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${what} must be a positive number, got ${String(value)}`);
  }
  return value;
}
