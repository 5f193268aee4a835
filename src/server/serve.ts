// `streamguard serve`: the engine behind an HTTPS admission webhook. Wires the pieces — context
// source, TLS with hot reload, express routes, metrics, logs — and owns the lifecycle: readiness,
// and a drain on SIGTERM during which it keeps answering (the API server reuses connections to a
// terminating Pod until its endpoint is gone).
import { mkdtemp } from 'node:fs/promises';
import https from 'node:https';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateReloader } from '../tls/reloader.js';
import { secureContextOptions } from '../tls/options.js';
import { selfSignedBundle, writeBundle } from '../tls/self-signed.js';
import type { KeyPair } from '../tls/pair.js';
import type { ClusterTls, ClusterTlsOptions } from '../tls/cluster/controller.js';
import { serverOf } from '../kube/errors.js';
import type { LiveServeOptions } from '../live/open.js';
import { createApp } from './app.js';
import { FileContextSource, type ContextSource } from './context-source.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, type WebhookMetrics } from './metrics.js';

export interface ServeOptions {
  host: string;
  port: number;
  statePath?: string;
  policyPath?: string;
  /** Context from a live cluster (informers) instead of statePath. */
  cluster?: LiveServeOptions;
  tls:
    | { certPath: string; keyPath: string }
    | { selfSigned: { sans: string[]; dir?: string } }
    | { cluster: ClusterTlsServeOptions };
  /** Per-request deadline for context (below the webhook's timeoutSeconds). */
  deadlineMs: number;
  /** How long to keep answering after SIGTERM before closing. */
  drainMs: number;
  logger?: Logger;
  metrics?: WebhookMetrics;
  /** File watching (tests make it fast). */
  watch?: { debounceMs?: number; pollMs?: number };
}

/** Self-managed TLS kept in a Secret (src/tls/cluster); `dir` defaults to a new temporary one. */
export type ClusterTlsServeOptions = Omit<ClusterTlsOptions, 'dir' | 'logger'> & { dir?: string };

export interface RunningServer {
  url: string;
  port: number;
  server: https.Server;
  metrics: WebhookMetrics;
  source: ContextSource;
  reloader: CertificateReloader;
  /** The self-managed TLS controller, with `tls: { cluster }`. */
  clusterTls?: ClusterTls;
  /** Where the self-signed CA was written, for clients (`curl --cacert`). */
  caPath?: string;
  ready(): boolean;
  /** Readiness false, keep serving for drainMs, then close; resolves when every connection is gone. */
  drain(): Promise<void>;
}

/** Idle keep-alive connections outlive the API server's idle reuse (90 s), so none is reset. */
export const KEEP_ALIVE_TIMEOUT_MS = 95_000;

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const logger = options.logger ?? createLogger();
  const metrics = options.metrics ?? createMetrics();
  // The Kubernetes client is loaded only for a live cluster (it takes half a second to load).
  const source: ContextSource = options.cluster
    ? await (
        await import('../live/open.js')
      ).openLiveContext(options.cluster, {
        ...(options.policyPath ? { policyPath: options.policyPath } : {}),
        logger,
        metrics,
        ...(options.watch ? { watch: options.watch } : {}),
      })
    : await FileContextSource.open({
        statePath: options.statePath,
        policyPath: options.policyPath,
        logger,
        metrics,
        watch: options.watch,
      });

  let certPath: string;
  let keyPath: string;
  let caPath: string | undefined;
  let clusterTls: ClusterTls | undefined;
  if ('cluster' in options.tls) {
    const { dir, ...rest } = options.tls.cluster;
    const { ClusterTls } = await import('../tls/cluster/controller.js');
    clusterTls = new ClusterTls({
      ...rest,
      dir: dir ?? (await mkdtemp(join(tmpdir(), 'streamguard-tls-'))),
      logger,
    });
    try {
      ({ certPath, keyPath, caPath } = await clusterTls.start());
    } catch (err) {
      clusterTls.stop();
      source.close();
      throw err;
    }
  } else if ('selfSigned' in options.tls) {
    const dir = options.tls.selfSigned.dir ?? (await mkdtemp(join(tmpdir(), 'streamguard-tls-')));
    const bundle = selfSignedBundle({ sans: options.tls.selfSigned.sans });
    const paths = await writeBundle(dir, bundle);
    ({ certPath, keyPath, caPath } = paths);
    logger.info(
      { ca: caPath, sans: options.tls.selfSigned.sans },
      `self-signed certificate issued; give clients the CA at ${caPath}`,
    );
  } else {
    ({ certPath, keyPath } = options.tls);
  }

  // The reloader applies new pairs to the server, which needs the first pair to exist.
  const target: { server?: https.Server } = {};
  let draining = false;
  const reloader = new CertificateReloader({
    certPath,
    keyPath,
    apply: (pair: KeyPair) => {
      target.server?.setSecureContext(secureContextOptions(pair));
      metrics.certificateExpiry.set(pair.notAfter.getTime() / 1000);
    },
    ...(options.watch ?? {}),
  });
  reloader.on('reloaded', (pair: KeyPair) => {
    metrics.reloads.inc({ source: 'certificate' });
    logger.info(
      { subject: pair.subject, fingerprint256: pair.fingerprint256, notAfter: pair.notAfter },
      'serving certificate reloaded',
    );
  });
  reloader.on('rejected', (err: Error) => {
    metrics.reloadFailures.inc({ source: 'certificate' });
    logger.error(
      { err: err.message },
      'new serving certificate refused; the previous one keeps serving',
    );
  });
  await reloader.start();
  const initial = reloader.current();

  // Self-managed TLS: not ready before the API server can verify us (our CA is in the caBundle).
  const ready = () =>
    !draining &&
    reloader.current() !== undefined &&
    source.current() !== undefined &&
    (clusterTls?.published() ?? true);
  const app = createApp({ source, logger, metrics, deadlineMs: options.deadlineMs, ready });
  const httpsServer = https.createServer(
    { ...secureContextOptions(initial), maxHeaderSize: 16 * 1024 },
    (req, res) => {
      // While draining, ask clients to reconnect elsewhere rather than reuse this connection.
      if (draining) res.setHeader('Connection', 'close');
      app(req, res);
    },
  );
  target.server = httpsServer;
  httpsServer.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  httpsServer.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 5_000;
  httpsServer.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    httpsServer.once('error', reject);
    httpsServer.listen(options.port, options.host, () => {
      httpsServer.off('error', reject);
      resolve();
    });
  });
  const port = (httpsServer.address() as AddressInfo).port;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  logger.info(
    {
      host: options.host,
      port,
      state: options.statePath,
      ...(options.cluster ? { cluster: serverOf(options.cluster.kc) } : {}),
      policy: context(source),
    },
    'streamguard webhook serving',
  );

  let drained: Promise<void> | undefined;
  const drain = () =>
    (drained ??= (async () => {
      draining = true;
      logger.info({ drainMs: options.drainMs }, 'draining: readiness is false, still answering');
      await sleep(options.drainMs);
      await new Promise<void>((resolve) => {
        httpsServer.close(() => resolve());
        httpsServer.closeIdleConnections();
        // Whatever is still open after a last grace period is cut: the Pod is going away.
        setTimeout(() => httpsServer.closeAllConnections(), 10_000).unref();
      });
      reloader.stop();
      clusterTls?.stop();
      source.close();
      logger.info('stopped');
    })());

  return {
    url: `https://${hostForUrl}:${port}`,
    port,
    server: httpsServer,
    metrics,
    source,
    reloader,
    ...(clusterTls ? { clusterTls } : {}),
    ...(caPath ? { caPath } : {}),
    ready,
    drain,
  };
}

function context(source: ContextSource): string {
  return source.policy().source;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
