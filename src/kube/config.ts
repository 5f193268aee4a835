// Where the cluster is: a kubeconfig file or the Pod's service account. Every part of streamguard
// that talks to the cluster loads its KubeConfig here, so the checks and messages are the same.
import { existsSync, readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeConfigError } from './errors.js';

export { serverOf } from './errors.js';

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeConfigOptions {
  kubeconfig?: string;
  inCluster?: boolean;
}

export function kubeConfigFrom(opts: KubeConfigOptions): KubeConfig {
  if (opts.kubeconfig !== undefined && opts.inCluster) {
    throw new KubeConfigError('give either --kubeconfig or --in-cluster, not both');
  }
  const kc = new KubeConfig();
  if (opts.kubeconfig !== undefined) loadFile(kc, opts.kubeconfig);
  else if (opts.inCluster) loadInCluster(kc);
  else throw new KubeConfigError('no cluster given: use --kubeconfig FILE or --in-cluster');
  const server = kc.getCurrentCluster()?.server;
  if (!server) {
    const where = opts.kubeconfig ?? 'in-cluster configuration';
    throw new KubeConfigError(`${where}: the current context names no cluster with a server URL`);
  }
  return kc;
}

function loadFile(kc: KubeConfig, file: string): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KubeConfigError(
      `kubeconfig ${file}: cannot read: ${code === 'ENOENT' ? 'no such file' : (code ?? 'error')}`,
    );
  }
  try {
    kc.loadFromString(text);
  } catch (err) {
    // YAML errors quote the offending lines, which may hold a token: keep the reason and line only.
    const e = err as { reason?: string; mark?: { line?: number } };
    const line = e.mark?.line !== undefined ? ` at line ${e.mark.line + 1}` : '';
    throw new KubeConfigError(
      `kubeconfig ${file}: not a valid kubeconfig${line}${e.reason ? `: ${e.reason}` : ''}`,
    );
  }
  if (!kc.getCurrentContext()) {
    throw new KubeConfigError(`kubeconfig ${file}: no current-context`);
  }
}

function loadInCluster(kc: KubeConfig): void {
  const { KUBERNETES_SERVICE_HOST: host, KUBERNETES_SERVICE_PORT: port } = process.env;
  if (!host || !port) {
    throw new KubeConfigError(
      '--in-cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (not running in a Pod?)',
    );
  }
  if (!existsSync(`${SERVICE_ACCOUNT}/token`)) {
    throw new KubeConfigError(
      `--in-cluster: no service account token at ${SERVICE_ACCOUNT}/token (automountServiceAccountToken off?)`,
    );
  }
  kc.loadFromCluster();
}
