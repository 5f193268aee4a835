// Release data and the `mirrored` rule live: `serve --kubeconfig` fetches the HostedCluster's
// release from a real docker-registry (the synthetic dual-stream payload built from the upstream
// fixtures) when the HostedCluster appears, and checks the target stream's node images in the
// mirror its imageContentSources name (HEAD by digest) — or finds them in a mirror inventory
// ConfigMap created in the cluster.
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ANNOTATIONS } from '../../src/engine/types.js';
import { repositoryOf, digestOf } from '../../src/engine/mirror-sources.js';
import { kubeConfigFrom } from '../../src/kube/config.js';
import type { KubeApi, KubeObject } from '../kube-api/server.js';
import {
  setupOrFailEach,
  startRegistry,
  type RunningRegistry,
} from '../registry-support/registry.js';
import {
  pushReleasePayloadTo,
  type SyntheticRelease,
} from '../registry-support/release-payload.js';
import { startTestServer, type AdmissionResponseJson, type TestServer } from '../server/support.js';
import { exampleReview, exampleState, startClusterApi, until } from './support.js';

let registry: RunningRegistry;
let payload: SyntheticRelease;
let api: KubeApi;
let server: TestServer;

/** The node images of a tag of the payload (digest references). */
const nodeImage = (tag: string): string => {
  const found = payload.imageReferences.spec.tags.find((t) => t.name === tag);
  if (!found) throw new Error(`no ${tag} in the payload`);
  return found.from.name;
};

function hostedCluster(mirror: string): KubeObject {
  const [hc] = exampleState('hostedcluster.yaml');
  const copy = structuredClone(hc) as KubeObject & { spec: Record<string, unknown> };
  copy.spec.release = { image: payload.release.pullspec };
  copy.spec.imageContentSources = [
    { source: repositoryOf(nodeImage('rhel-coreos-10')), mirrors: [mirror] },
  ];
  return copy;
}

// Starting a registry and pushing a payload of ~190 images takes seconds on a busy machine.
vi.setConfig({ hookTimeout: 120_000 });

setupOrFailEach(async () => {
  registry = await startRegistry();
  payload = await pushReleasePayloadTo(registry.host);
  // Disconnected: the mirror named first holds nothing.
  api = await startClusterApi([hostedCluster(`${registry.host}/empty/mirror`)]);
  server = await startTestServer({
    statePath: undefined,
    cluster: {
      kc: kubeConfigFrom({ kubeconfig: api.kubeconfigPath }),
      registry: { insecureRegistries: [registry.host], retry: { attempts: 1 } },
      backoff: { initialMs: 50, maxMs: 200 },
    },
  });
});

afterAll(async () => {
  await server?.close();
  await api?.close();
  await registry?.stop();
});

/** A CREATE of a pool on the payload's release (rhel-10: 5.0 and crun) in cluster `example`. */
async function createPool(uid: string, release = payload.release.pullspec) {
  const body = JSON.parse(exampleReview('nodepool-create.json', uid)) as {
    request: { object: { spec: { release: { image: string } } } };
  };
  body.request.object.spec.release.image = release;
  const reply = await server.client.post('/validate', JSON.stringify(body));
  expect(reply.status).toBe(200);
  return (JSON.parse(reply.body) as AdmissionResponseJson).response;
}

const rules = (r: AdmissionResponseJson['response']) => r.auditAnnotations?.rules ?? '';

describe('release data and mirrors, live', () => {
  it('fetches the release when the HostedCluster appears and checks its mirror', async () => {
    await until('ready', async () => (await server.client.get('/readyz')).status === 200);
    // The release read from its registry (no [catalog] note), rhel-10 not in the empty mirror.
    const denied = await until('the release fetched', async () => {
      const r = await createPool(`fetch-${Date.now()}`);
      return rules(r).includes('catalog') ? undefined : r;
    });
    expect(denied.allowed).toBe(false);
    expect(denied.status?.message).toContain('[mirrored]');
    expect(denied.status?.message).toContain(digestOf(nodeImage('rhel-coreos-10')));
  });

  it('allows the pool once a mirror inventory ConfigMap lists the rhel-10 images', async () => {
    const digests = ['rhel-coreos-10', 'rhel-coreos-10-extensions'].map((t) =>
      digestOf(nodeImage(t)),
    );
    const inventory: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'mirror-inventory',
        namespace: 'clusters',
        annotations: { [ANNOTATIONS.mirrorInventory]: `${registry.host}/empty/mirror` },
      },
      data: { digests: `${digests.join('\n')}\n` },
    };
    api.create(inventory);
    const allowed = await until('the inventory seen', async () => {
      const r = await createPool(`inventory-${Date.now()}`);
      return r.allowed ? r : undefined;
    });
    expect(rules(allowed)).not.toContain('mirrored');
    api.remove({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace: 'clusters',
      name: 'mirror-inventory',
    });
    await until(
      'the inventory gone',
      async () => !(await createPool(`gone-${Date.now()}`)).allowed,
    );
  });

  it('checks the mirror the HostedCluster names now, by digest, and allows what it holds', async () => {
    // Point the mirror source at the repository that really holds the images.
    const [current] = api.list({
      apiVersion: 'hypershift.openshift.io/v1beta1',
      kind: 'HostedCluster',
      namespace: 'clusters',
    });
    const moved = hostedCluster(repositoryOf(nodeImage('rhel-coreos-10')));
    api.update({ ...moved, metadata: { ...(current?.metadata ?? {}) } });
    const allowed = await until('the mirror checked', async () => {
      const r = await createPool(`mirror-${Date.now()}`);
      return r.allowed ? r : undefined;
    });
    expect(rules(allowed)).not.toContain('mirrored');
    expect(rules(allowed)).not.toContain('catalog');
  });

  it('makes a request for a release nobody asked for yet wait for its data', async () => {
    // The same release by digest: a pullspec the cluster has never shown.
    const byDigest = `${registry.host}/openshift-release-dev/ocp-release@${payload.release.digest}`;
    const first = await createPool('by-digest', byDigest);
    expect(rules(first)).not.toContain('catalog');
    expect(rules(first)).not.toContain('context');
    expect(first.allowed).toBe(true);
  });
});
