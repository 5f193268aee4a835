// Release data is fetched ahead of admission: when the informers show a HostedCluster or a
// NodePool with a release not asked for yet, its fetch starts with the HostedCluster's pull secret
// (read by one GET of the Secret named in spec.pullSecret). A request for a release nobody has
// asked for (a pool upgrade arrives before the informer sees it) starts the fetch too, but only
// with a pull secret already in memory: the request path never calls the API server.
import type { HostedCluster, KubeObject, NodePool } from '../k8s/objects.js';
import { pullSecretFromSecret, type PullSecret } from '../release/pull-secret.js';
import type { Logger } from '../server/logger.js';
import type { ClusterState } from '../state/index.js';
import type { FetchingReleaseCatalog } from './releases.js';

export interface PrefetchOptions {
  releases: FetchingReleaseCatalog;
  /** GETs a Secret (an API call: never on the request path). */
  getSecret: (namespace: string, name: string) => Promise<KubeObject>;
  /** Called once a release's data is in memory (mirror presence checks hang off it). */
  fetched?: (
    pullspec: string,
    hostedCluster: HostedCluster | undefined,
    pullSecret?: PullSecret,
  ) => void;
  logger: Logger;
}

interface Wanted {
  pullspec: string;
  hostedCluster: HostedCluster | undefined;
}

export class Prefetcher {
  readonly #options: PrefetchOptions;
  /** Pull secrets read so far, by `namespace/name`; null: looked for, not usable. */
  readonly #secrets = new Map<string, PullSecret | null>();
  /** `pullspec` + secret key pairs already started from the informers. */
  readonly #started = new Set<string>();
  /** Secret reads in flight, by `namespace/name`. */
  readonly #secretReads = new Map<string, Promise<PullSecret>>();
  /** Fetches being started (their pull secret still being read), by pullspec. */
  readonly #starting = new Map<string, Promise<void>>();

  constructor(options: PrefetchOptions) {
    this.#options = options;
  }

  /**
   * After each rebuild: starts fetches for every release in the state not started yet, and
   * reports the releases already in memory again through `fetched` (a HostedCluster's mirror
   * sources may have changed; the presence checker skips what it already knows).
   */
  observe(state: ClusterState): void {
    const seen = new Set<string>();
    for (const obj of state.objects()) {
      const wanted = wantedBy(obj, state);
      if (!wanted) continue;
      const secret = secretKey(wanted.hostedCluster);
      const id = `${wanted.pullspec}\n${secret ?? ''}`;
      // Mirror sources are per HostedCluster, so each one's releases are reported.
      const hc = wanted.hostedCluster?.metadata;
      const perCluster = `${id}\n${hc?.namespace ?? ''}/${hc?.name ?? ''}`;
      if (seen.has(perCluster)) continue;
      seen.add(perCluster);
      const status = this.#options.releases.status(wanted.pullspec);
      // 'unknown' again after being started: the catalog forgot it (bounded memory); refetch.
      const forgotten = status === 'unknown' && !this.#starting.has(wanted.pullspec);
      if (this.#started.has(id) && !forgotten) {
        if (status === 'fetched') {
          const pullSecret = (secret && this.#secrets.get(secret)) || undefined;
          this.#options.fetched?.(wanted.pullspec, wanted.hostedCluster, pullSecret);
        }
        continue;
      }
      this.#started.add(id);
      const starting = this.#fetch(wanted, secret).finally(() => {
        if (this.#starting.get(wanted.pullspec) === starting)
          this.#starting.delete(wanted.pullspec);
      });
      this.#starting.set(wanted.pullspec, starting);
    }
  }

  /**
   * For the request path: undefined when the release is in memory (or its fetch failed, so
   * waiting is pointless — also while that failure is being retried: a registry that is down
   * would otherwise stall a request for the whole deadline at every retry), else a promise that
   * settles when its fetch does.
   */
  pending(
    pullspec: string,
    hostedCluster: HostedCluster | undefined,
  ): Promise<unknown> | undefined {
    const { releases } = this.#options;
    const status = releases.status(pullspec);
    if (status === 'fetched' || status === 'failed') return undefined;
    if (status === 'pending' && releases.failure(pullspec) !== undefined) return undefined;
    if (status === 'unknown') {
      const starting = this.#starting.get(pullspec);
      if (starting) return starting.then(() => releases.whenFetched(pullspec));
      // A pull secret not looked for yet would take an API call: leave it to the informers.
      const key = secretKey(hostedCluster);
      if (key && !this.#secrets.has(key)) return undefined;
      const secret = (key && this.#secrets.get(key)) || undefined;
      releases.prefetch(pullspec, secret);
      this.#afterFetch({ pullspec, hostedCluster }, secret);
    }
    return releases.whenFetched(pullspec);
  }

  async #fetch(wanted: Wanted, key: string | undefined): Promise<void> {
    const { releases, logger } = this.#options;
    let secret: PullSecret | undefined;
    if (key) {
      try {
        secret = await this.#readSecret(key);
      } catch (err) {
        // Public registries still answer; a private one fails the fetch, which is reported.
        this.#secrets.set(key, null);
        logger.warn(
          { secret: key, release: wanted.pullspec, err: (err as Error).message },
          'pull secret not readable; fetching the release without credentials',
        );
      }
    }
    releases.prefetch(wanted.pullspec, secret);
    this.#afterFetch(wanted, secret);
  }

  /** One GET per Secret at a time, however many releases it pulls. */
  #readSecret(key: string): Promise<PullSecret> {
    let read = this.#secretReads.get(key);
    if (!read) {
      const [namespace = '', name = ''] = key.split('/');
      read = this.#options
        .getSecret(namespace, name)
        .then((obj) => {
          const secret = pullSecretFromSecret(obj);
          this.#secrets.set(key, secret);
          return secret;
        })
        .finally(() => this.#secretReads.delete(key));
      this.#secretReads.set(key, read);
    }
    return read;
  }

  #afterFetch(wanted: Wanted, secret: PullSecret | undefined): void {
    const { releases, fetched } = this.#options;
    if (!fetched) return;
    void releases.whenFetched(wanted.pullspec).then(() => {
      if (releases.status(wanted.pullspec) === 'fetched') {
        fetched(wanted.pullspec, wanted.hostedCluster, secret);
      }
    });
  }
}

/** The release a HostedCluster or NodePool runs, with the HostedCluster whose secret pulls it. */
function wantedBy(obj: KubeObject, state: ClusterState): Wanted | undefined {
  if (obj.kind === 'HostedCluster') {
    const hc = obj as HostedCluster;
    const pullspec = hc.spec?.release?.image;
    return typeof pullspec === 'string' && pullspec.trim() !== ''
      ? { pullspec: pullspec.trim(), hostedCluster: hc }
      : undefined;
  }
  if (obj.kind === 'NodePool') {
    const pool = obj as NodePool;
    const pullspec = pool.spec?.release?.image;
    if (typeof pullspec !== 'string' || pullspec.trim() === '') return undefined;
    const cluster = pool.spec?.clusterName;
    const hc =
      typeof cluster === 'string'
        ? state.hostedCluster(pool.metadata?.namespace ?? '', cluster)
        : undefined;
    return { pullspec: pullspec.trim(), hostedCluster: hc };
  }
  return undefined;
}

/** `namespace/name` of a HostedCluster's pull secret (same namespace, spec.pullSecret.name). */
export function secretKey(hc: HostedCluster | undefined): string | undefined {
  const ref = hc?.spec?.pullSecret;
  const name =
    typeof ref === 'object' && ref !== null ? (ref as { name?: unknown }).name : undefined;
  const namespace = hc?.metadata?.namespace;
  return typeof name === 'string' && name !== '' && namespace ? `${namespace}/${name}` : undefined;
}
