// `streamguard serve`: runs the admission webhook until SIGTERM/SIGINT, then drains and exits 0.
import { isIP } from 'node:net';
import type { LevelWithSilent } from 'pino';
import { createLogger } from '../server/logger.js';
import { startServer } from '../server/serve.js';
import type { LiveServeOptions } from '../live/open.js';
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
  if (files && options.selfSigned)
    throw new UsageError('give either --tls-cert/--tls-key or --self-signed, not both');
  if (files && (!options.tlsCert || !options.tlsKey))
    throw new UsageError('--tls-cert and --tls-key go together');
  if (!files && !options.selfSigned)
    throw new UsageError('TLS is required: give --tls-cert and --tls-key, or --self-signed');
  if (!options.selfSigned && (options.san?.length || options.certDir)) {
    throw new UsageError('--san and --cert-dir apply to --self-signed only');
  }
  const cluster = await liveCluster(options);
  const logger = createLogger(options.logLevel);
  const running = await startServer({
    host,
    port,
    statePath: options.state,
    policyPath: options.policy,
    ...(cluster ? { cluster } : {}),
    tls: options.selfSigned
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
  if (running.caPath)
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
