// Everything `serve` needs for a live cluster, assembled: registry clients shared by release
// data and mirror checks (one per distinct pull secret), the live release catalog (optionally
// cached on disk), the mirror presence checker, and the context source over the informers.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Backoff } from '../kube/informer.js';
import { MirrorPresence } from '../mirror/presence.js';
import { RegistryClients, type SharedClientOptions } from '../release/clients.js';
import { LiveReleaseCatalog } from '../release/live-catalog.js';
import type { Logger } from '../server/logger.js';
import type { WebhookMetrics } from '../server/metrics.js';
import { LiveContextSource } from './context-source.js';

export interface LiveServeOptions {
  kc: KubeConfig;
  /** Disk cache of release data by digest (survives restarts). */
  releaseCacheDir?: string;
  /** Options of every registry client (tests point them at loopback registries). */
  registry?: SharedClientOptions;
  backoff?: Backoff;
}

export async function openLiveContext(
  live: LiveServeOptions,
  common: {
    policyPath?: string;
    logger: Logger;
    metrics: WebhookMetrics;
    watch?: { debounceMs?: number; pollMs?: number };
  },
): Promise<LiveContextSource> {
  const clients = new RegistryClients(live.registry ? { client: live.registry } : {});
  const releases = new LiveReleaseCatalog({
    clients,
    ...(live.releaseCacheDir ? { cacheDir: live.releaseCacheDir } : {}),
    logger: common.logger,
  });
  const presence = new MirrorPresence({ clients, logger: common.logger });
  return LiveContextSource.open({
    kc: live.kc,
    ...(common.policyPath ? { policyPath: common.policyPath } : {}),
    releases,
    presence,
    logger: common.logger,
    metrics: common.metrics,
    ...(live.backoff ? { backoff: live.backoff } : {}),
    ...(common.watch ? { watch: common.watch } : {}),
    onClose: () => clients.close(),
  });
}
