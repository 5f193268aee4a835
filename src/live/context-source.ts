// The webhook's context from a live cluster: the policy file (watched, as offline), the cluster
// from informer caches and release data from registries. current() is undefined until every
// informer has synced, so readiness waits for the caches; after that it always answers from
// memory, and the cluster part changes with one assignment per rebuild.
import type { KubeConfig } from '@kubernetes/client-node';
import type { AdmissionRequestLike, DecisionContext } from '../engine/types.js';
import { getSecret } from '../kube/secrets.js';
import type { Backoff } from '../kube/informer.js';
import type { ConfigMap, KubeObject, NodePool } from '../k8s/objects.js';
import type { Policy } from '../policy/types.js';
import { FileContextSource, type ContextSource } from '../server/context-source.js';
import type { Logger } from '../server/logger.js';
import type { WebhookMetrics } from '../server/metrics.js';
import type { ClusterState } from '../state/index.js';
import { LiveCluster } from './cluster.js';
import { Prefetcher } from './prefetch.js';
import { prefetchMirrored } from './mirror-prefetch.js';
import type { FetchingReleaseCatalog, PrefetchingPresence } from './releases.js';
import { LiveView } from './view.js';

export interface LiveContextOptions {
  kc: KubeConfig;
  policyPath?: string;
  releases: FetchingReleaseCatalog;
  /** Live mirror checks for the `mirrored` rule (inventory ConfigMaps count without it). */
  presence?: PrefetchingPresence;
  logger: Logger;
  metrics: WebhookMetrics;
  backoff?: Backoff;
  watch?: { debounceMs?: number; pollMs?: number };
  /** Releases what the source's parts hold (registry connections). */
  onClose?: () => void;
}

export class LiveContextSource implements ContextSource {
  readonly #policySource: FileContextSource;
  readonly #cluster: LiveCluster;
  readonly #prefetcher: Prefetcher;
  readonly #options: LiveContextOptions;
  #context: DecisionContext | undefined;

  private constructor(policySource: FileContextSource, options: LiveContextOptions) {
    this.#policySource = policySource;
    this.#options = options;
    const { kc, logger, metrics } = options;
    this.#prefetcher = new Prefetcher({
      releases: options.releases,
      getSecret: (namespace, name) => getSecret(kc, namespace, name),
      fetched: (pullspec, hc, pullSecret) => {
        const { presence, releases } = options;
        if (!presence) return;
        const state = this.#cluster.state();
        void prefetchMirrored(presence, releases, state, pullspec, hc, pullSecret);
      },
      logger,
    });
    this.#cluster = new LiveCluster({
      kc,
      ...(options.backoff ? { backoff: options.backoff } : {}),
      events: {
        rebuilt: (state, stats) => {
          metrics.reloads.inc({ source: 'cluster' });
          logger.debug(stats, 'cluster view rebuilt');
          this.#prefetcher.observe(state);
        },
        problem: (where, message, retryMs) => {
          metrics.reloadFailures.inc({ source: 'cluster' });
          logger.warn({ resource: where, err: message, retryMs }, 'cluster cache problem');
        },
      },
    });
  }

  /**
   * Loads the policy and starts the informers; resolves at once (before they sync), so the
   * server can listen and report itself not ready meanwhile.
   */
  static async open(options: LiveContextOptions): Promise<LiveContextSource> {
    const policySource = await FileContextSource.open({
      ...(options.policyPath ? { policyPath: options.policyPath } : {}),
      logger: options.logger,
      metrics: options.metrics,
      ...(options.watch ? { watch: options.watch } : {}),
    });
    const source = new LiveContextSource(policySource, options);
    source.#cluster.start();
    void source.#cluster.whenSynced().then(() => {
      options.logger.info('cluster caches synced; ready to decide');
    });
    return source;
  }

  current(): DecisionContext | undefined {
    const state = this.#cluster.state();
    if (!state) return undefined;
    const policy = this.#policySource.policy();
    const context = this.#context;
    if (context?.policy === policy && (context.cluster as LiveView).state === state) return context;
    this.#context = {
      policy,
      releases: this.#options.releases,
      cluster: new LiveView(state, this.#options.presence),
    };
    return this.#context;
  }

  async ready(): Promise<DecisionContext> {
    await this.#cluster.whenSynced();
    return this.current() as DecisionContext;
  }

  policy(): Policy {
    return this.#policySource.policy();
  }

  /** Resources whose informers have not synced yet. */
  unsynced(): string[] {
    return this.#cluster.unsynced();
  }

  /**
   * What a request must wait for: the fetch of a release it needs that is under way, or
   * undefined (the usual case) when everything it needs is in memory.
   */
  pendingFor(request: AdmissionRequestLike): Promise<unknown> | undefined {
    const state = this.#cluster.state();
    if (!state) return undefined;
    const waits: Promise<unknown>[] = [];
    for (const pool of poolsOf(request, state)) {
      const pullspec = pool.spec?.release?.image;
      if (typeof pullspec !== 'string' || pullspec.trim() === '') continue;
      const cluster = pool.spec?.clusterName;
      const hc =
        typeof cluster === 'string'
          ? state.hostedCluster(pool.metadata?.namespace ?? request.namespace ?? '', cluster)
          : undefined;
      const wait = this.#prefetcher.pending(pullspec.trim(), hc);
      if (wait) waits.push(wait);
    }
    return waits.length === 0 ? undefined : Promise.all(waits);
  }

  close(): void {
    this.#cluster.stop();
    this.#policySource.close();
    this.#options.onClose?.();
  }
}

/** The pools a request is decided on: the NodePool itself, or those using the ConfigMap. */
function poolsOf(request: AdmissionRequestLike, state: ClusterState): NodePool[] {
  const objects = [request.object, request.oldObject].filter(
    (o): o is KubeObject => typeof o === 'object' && o !== null,
  );
  if (request.kind.kind === 'NodePool') return objects as NodePool[];
  if (request.kind.kind === 'ConfigMap') {
    const name = (objects[0] as ConfigMap | undefined)?.metadata?.name ?? request.name ?? '';
    return [...state.nodePoolsReferencing(request.namespace ?? '', name)];
  }
  return [];
}
