// One GET to the API server returning the raw JSON, for lists and single objects: anything but
// 200 is a KubeError naming the server, what was asked and the Status message.
import type { KubeConfig } from '@kubernetes/client-node';
import { KubeError } from './errors.js';
import { serverOf } from './config.js';
import { kubeJson, unexpected } from './json.js';

/** A page of a list or one object: an API server that takes longer is treated as down. */
export const REQUEST_TIMEOUT_MS = 60_000;

/** GETs `path` (with its query) and parses the JSON body; any failure is a KubeError. */
export async function getJson(
  kc: KubeConfig,
  path: string,
  what: string,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<unknown> {
  const answer = await kubeJson(kc, 'GET', path, what, undefined, timeoutMs);
  if (answer.status !== 200) throw unexpected(kc, what, answer);
  if (answer.body === undefined) {
    throw new KubeError(serverOf(kc), what, 'the answer is not JSON', answer.status);
  }
  return answer.body;
}
