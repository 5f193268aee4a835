// Errors reaching the cluster, and errors in how to reach it. Messages name the server and what
// was asked, never credentials: a kubeconfig holds tokens and keys, and these messages reach logs.
// (No value import of the client library here: the CLI loads it only when a cluster is used.)
import type { KubeConfig } from '@kubernetes/client-node';

/** The API server URL, for messages (it carries no credentials). */
export function serverOf(kc: KubeConfig): string {
  return kc.getCurrentCluster()?.server ?? '(no server)';
}

/** The kubeconfig or in-cluster settings cannot be used (an input problem). */
export class KubeConfigError extends Error {
  override name = 'KubeConfigError';
}

/** A request to the API server failed (an external failure). */
export class KubeError extends Error {
  override name = 'KubeError';

  constructor(
    readonly server: string,
    /** What was asked, e.g. `list nodepools.hypershift.openshift.io`. */
    readonly what: string,
    readonly problem: string,
    /** The HTTP status, when the server answered. */
    readonly status?: number,
  ) {
    super(`cluster ${server}: ${what}: ${problem}`);
  }
}
