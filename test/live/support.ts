// Shared parts of the live-context tests: the local API server loaded with the real upstream CRDs
// and the example cluster (examples/state), and the example requests. Release pullspecs are moved
// from quay.io to a loopback port, so a release fetch never leaves the machine: nothing listens
// there (the fetch fails at once and the embedded catalog answers), unless a test holds it.
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { UPSTREAM_CRDS, upstreamText } from '../kube-api/fixtures.js';
import { startKubeApi, type KubeApi, type KubeObject } from '../kube-api/server.js';
import { REPO_ROOT } from '../support/cli.js';

/** Where the example releases live in these tests: a loopback port nothing answers on. */
export const DEAD_REGISTRY = '127.0.0.1:9';

/** Every `quay.io/` image reference in a text, moved to `registry`. */
export function loopbackImages(text: string, registry = DEAD_REGISTRY): string {
  return text.replaceAll('quay.io/', `${registry}/`);
}

/** The objects of an examples/state file (Lists expanded), images on loopback. */
export function exampleState(file: string, registry = DEAD_REGISTRY): KubeObject[] {
  const text = loopbackImages(
    readFileSync(join(REPO_ROOT, 'examples/state', file), 'utf8'),
    registry,
  );
  return parseAllDocuments(text).flatMap((doc) => {
    const obj = doc.toJS() as KubeObject & { items?: KubeObject[] };
    if (!obj) return [];
    return obj.kind === 'List' ? (obj.items ?? []) : [obj];
  });
}

/** An example AdmissionReview, images on loopback, with a fresh uid. */
export function exampleReview(file: string, uid: string, registry = DEAD_REGISTRY): string {
  const text = loopbackImages(
    readFileSync(join(REPO_ROOT, 'examples/requests', file), 'utf8'),
    registry,
  );
  const review = JSON.parse(text) as { request: { uid: string } };
  review.request.uid = uid;
  return JSON.stringify(review);
}

export const NODEPOOL_CRD_DEFAULT = 'hypershift-nodepools-Default.crd.yaml';

/** The NodePool CRD of a feature set, as an object. */
export function nodePoolCrd(file: string): KubeObject {
  const [crd] = parseAllDocuments(upstreamText(file)).map((d) => d.toJS() as KubeObject);
  if (!crd) throw new Error(`${file}: no CRD`);
  return crd;
}

/** The API server with the upstream CRDs, namespace `clusters` and the given objects. */
export function startClusterApi(objects: KubeObject[] = []): Promise<KubeApi> {
  return startKubeApi({
    crds: UPSTREAM_CRDS.map(upstreamText),
    namespaces: ['default', 'kube-system', 'clusters'],
    objects,
    bookmarkIntervalMs: 200,
  });
}

export const NODEPOOL = { apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'NodePool' };

/** Polls until `check` returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function until<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * A loopback TCP server that accepts connections and never answers: a registry that is slow
 * beyond any deadline. close() cuts every connection, so fetches then fail.
 */
export async function silentRegistry(): Promise<{ host: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
