// Reads one named Secret (a HostedCluster's pull secret). RBAC: get only, no list or watch, so
// the webhook never holds every Secret of the cluster. Callers must never log what it returns;
// errors name the Secret, never its content.
import type { KubeConfig } from '@kubernetes/client-node';
import { isObject, type KubeObject } from '../k8s/objects.js';
import { serverOf } from './config.js';
import { KubeError } from './errors.js';
import { getJson } from './request.js';

export async function getSecret(
  kc: KubeConfig,
  namespace: string,
  name: string,
): Promise<KubeObject> {
  const what = `get secret ${namespace}/${name}`;
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`;
  const secret = await getJson(kc, path, what);
  if (!isObject(secret)) throw new KubeError(serverOf(kc), what, 'the answer is not an object');
  return secret as KubeObject;
}
