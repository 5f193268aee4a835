// The CLI's way to the cluster: `--kubeconfig FILE` or `--in-cluster`, where a bad setting is a
// usage error (exit 2) and an unreachable cluster an external one (exit 3).
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeConfigError, KubeError } from '../kube/errors.js';
import { ExternalError, UsageError } from './exit.js';

/** Loads the client library only now: commands without a cluster never pay for it. */
export async function loadKubeConfig(options: {
  kubeconfig?: string;
  inCluster?: boolean;
}): Promise<KubeConfig> {
  const { kubeConfigFrom } = await import('../kube/config.js');
  try {
    return kubeConfigFrom({
      ...(options.kubeconfig !== undefined ? { kubeconfig: options.kubeconfig } : {}),
      ...(options.inCluster ? { inCluster: true } : {}),
    });
  } catch (err) {
    if (err instanceof KubeConfigError) throw new UsageError(err.message);
    throw err;
  }
}

/** Runs `work`, turning a failed API request into an ExternalError with the same message. */
export async function fromCluster<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof KubeError) throw new ExternalError(err.message);
    throw err;
  }
}
