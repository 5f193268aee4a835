// `streamguard serve`: runs the admission webhook until SIGTERM/SIGINT, then drains and exits 0.
import { isIP } from 'node:net';
import type { LevelWithSilent } from 'pino';
import { createLogger } from '../server/logger.js';
import { startServer, type ClusterTlsServeOptions } from '../server/serve.js';
import type { LiveServeOptions } from '../live/open.js';
import { TlsError } from '../tls/errors.js';
import { EXIT, UsageError } from './exit.js';
import { loadKubeConfig } from './kube.js';

export interface ServeCliOptions {
  state?: string;
  policy?: string;
  kubeconfig?: string;
  inCluster?: boolean;
  releaseCacheDir?: string;
  listen: string;
  tlsCert?: string;
  tlsKey?: string;
  selfSigned?: boolean;
  san?: string[];
  certDir?: string;
  tlsSecret?: string;
  tlsNamespace?: string;
  service?: string;
  webhookConfiguration?: string[];
  deadlineMs: number;
  drainSeconds: number;
  logLevel: LevelWithSilent;
}

/** `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (all interfaces). */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535)
    throw new UsageError(`--listen ${value}: expected HOST:PORT, [IPv6]:PORT or :PORT`);
  const host = m[1] ?? (m[2] || '0.0.0.0');
  if (m[1] && isIP(m[1]) !== 6)
    throw new UsageError(`--listen ${value}: ${m[1]} is not an IPv6 address`);
  return { host, port };
}

export async function runServe(options: ServeCliOptions): Promise<number> {
  const { host, port } = parseListen(options.listen);
  const files = options.tlsCert !== undefined || options.tlsKey !== undefined;
  const modes = [files, !!options.selfSigned, options.tlsSecret !== undefined];
  if (modes.filter(Boolean).length > 1)
    throw new UsageError('give one of --tls-cert/--tls-key, --self-signed and --tls-secret');
  if (files && (!options.tlsCert || !options.tlsKey))
    throw new UsageError('--tls-cert and --tls-key go together');
  if (!modes.some(Boolean))
    throw new UsageError(
      'TLS is required: give --tls-cert and --tls-key, --tls-secret, or --self-signed',
    );
  if (files && (options.san?.length || options.certDir)) {
    throw new UsageError('--san and --cert-dir apply to --self-signed and --tls-secret only');
  }
  const cluster = await liveCluster(options);
  const clusterTls = await clusterTlsOptions(options, cluster);
  const logger = createLogger(options.logLevel);
  const running = await startServer({
    host,
    port,
    statePath: options.state,
    policyPath: options.policy,
    ...(cluster ? { cluster } : {}),
    tls: clusterTls
      ? { cluster: clusterTls }
      : options.selfSigned
        ? {
            selfSigned: {
              sans: options.san ?? [],
              ...(options.certDir ? { dir: options.certDir } : {}),
            },
          }
        : { certPath: options.tlsCert as string, keyPath: options.tlsKey as string },
    deadlineMs: options.deadlineMs,
    drainMs: options.drainSeconds * 1000,
    logger,
  });
  if (running.caPath && options.selfSigned)
    process.stderr.write(`streamguard: self-signed CA written to ${running.caPath}\n`);
  process.stderr.write(`streamguard: serving on ${running.url} (POST /validate, /mutate)\n`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      running.drain().then(resolve, resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return EXIT.ok;
}

/** The live cluster context of `--kubeconfig`/`--in-cluster`, exclusive with `--state`. */
async function liveCluster(options: ServeCliOptions): Promise<LiveServeOptions | undefined> {
  const given = [
    options.state !== undefined,
    options.kubeconfig !== undefined,
    !!options.inCluster,
  ];
  if (given.filter(Boolean).length > 1)
    throw new UsageError('give at most one of --state, --kubeconfig and --in-cluster');
  if (options.kubeconfig === undefined && !options.inCluster) {
    if (options.releaseCacheDir)
      throw new UsageError('--release-cache-dir needs --kubeconfig or --in-cluster');
    return undefined;
  }
  return {
    kc: await loadKubeConfig(options),
    ...(options.releaseCacheDir ? { releaseCacheDir: options.releaseCacheDir } : {}),
  };
}

/** `--tls-secret`: self-managed certificates kept in a Secret of the cluster given. */
async function clusterTlsOptions(
  options: ServeCliOptions,
  cluster: LiveServeOptions | undefined,
): Promise<ClusterTlsServeOptions | undefined> {
  const tied = { '--tls-namespace': options.tlsNamespace, '--service': options.service };
  const stray = Object.entries(tied).find(([, v]) => v !== undefined)?.[0];
  const configurations = options.webhookConfiguration ?? [];
  if (options.tlsSecret === undefined) {
    if (stray || configurations.length > 0) {
      throw new UsageError(`${stray ?? '--webhook-configuration'} applies to --tls-secret only`);
    }
    return undefined;
  }
  if (!cluster) throw new UsageError('--tls-secret needs --kubeconfig or --in-cluster');
  const { clusterTlsSettings } = await import('../tls/cluster/settings.js');
  try {
    return {
      ...clusterTlsSettings({
        secretName: options.tlsSecret,
        ...(options.tlsNamespace !== undefined ? { namespace: options.tlsNamespace } : {}),
        ...(options.service !== undefined ? { service: options.service } : {}),
        sans: options.san ?? [],
        webhookConfigurations: configurations,
      }),
      kubeConfig: cluster.kc,
      ...(options.certDir ? { dir: options.certDir } : {}),
    };
  } catch (err) {
    if (err instanceof TlsError) throw new UsageError(err.message);
    throw err;
  }
}
