// The HostedCluster's pull secret, live: serve reads the Secret named in spec.pullSecret (one
// GET) and fetches the release from a registry that wants credentials (docker-registry with
// htpasswd); without the Secret the fetch fails and the embedded catalog answers, and says so.
// The credentials never reach the logs.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { kubeConfigFrom } from '../../src/kube/config.js';
import { RegistryClient } from '../../src/registry/client.js';
import type { KubeApi, KubeObject } from '../kube-api/server.js';
import {
  setupOrFailEach,
  startRegistry,
  type RunningRegistry,
} from '../registry-support/registry.js';
import { pushReleasePayload, type SyntheticRelease } from '../registry-support/release-payload.js';
import { startTestServer, type AdmissionResponseJson, type TestServer } from '../server/support.js';
import { exampleReview, exampleState, startClusterApi, until } from './support.js';

const USER = 'puller';
const PASSWORD = 'pull-s3cret-password';

let work: string;
let registry: RunningRegistry;
let payload: SyntheticRelease;
const cleanups: (() => Promise<void>)[] = [];

const dockerConfig = () =>
  JSON.stringify({
    auths: {
      [registry.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') },
    },
  });

vi.setConfig({ hookTimeout: 120_000 });

setupOrFailEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'streamguard-live-auth-'));
  registry = await startRegistry({ htpasswd: { [USER]: PASSWORD } });
  const authfile = join(work, 'auth.json');
  await writeFile(authfile, dockerConfig());
  const pusher = new RegistryClient({ insecureRegistries: [registry.host], authfile });
  try {
    payload = await pushReleasePayload(pusher, registry.host);
  } finally {
    await pusher.close();
  }
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

async function serveWith(objects: KubeObject[]): Promise<{ api: KubeApi; server: TestServer }> {
  const [hc] = exampleState('hostedcluster.yaml');
  const cluster = structuredClone(hc) as KubeObject & { spec: Record<string, unknown> };
  cluster.spec.release = { image: payload.release.pullspec };
  const api = await startClusterApi([cluster, ...objects]);
  cleanups.push(() => api.close());
  const server = await startTestServer({
    statePath: undefined,
    cluster: {
      kc: kubeConfigFrom({ kubeconfig: api.kubeconfigPath }),
      registry: { insecureRegistries: [registry.host], retry: { attempts: 1 } },
    },
  });
  cleanups.push(() => server.close());
  await until('ready', async () => (await server.client.get('/readyz')).status === 200);
  return { api, server };
}

async function createPool(server: TestServer, uid: string) {
  const body = JSON.parse(exampleReview('nodepool-create.json', uid)) as {
    request: { object: { spec: { release: { image: string } } } };
  };
  body.request.object.spec.release.image = payload.release.pullspec;
  const reply = await server.client.post('/validate', JSON.stringify(body));
  return (JSON.parse(reply.body) as AdmissionResponseJson).response;
}

const rules = (r: AdmissionResponseJson['response']) => r.auditAnnotations?.rules ?? '';

describe('pull secret of the HostedCluster', () => {
  it('fetches the release with it', async () => {
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/dockerconfigjson',
      metadata: { name: 'example-pull-secret', namespace: 'clusters' },
      data: { '.dockerconfigjson': Buffer.from(dockerConfig()).toString('base64') },
    };
    const { api, server } = await serveWith([secret]);
    const fetched = await until('the release fetched', async () => {
      const r = await createPool(server, `auth-${Date.now()}`);
      return rules(r).includes('catalog') ? undefined : r;
    });
    expect(fetched.allowed).toBe(true);
    expect(api.requests.filter((r) => r.path.includes('/secrets')).map((r) => r.method)).toEqual([
      'GET',
    ]);
    expect(server.logs.text()).not.toContain(PASSWORD);
  });

  it('without it the fetch fails: decisions say the embedded catalog was used', async () => {
    const { server } = await serveWith([]);
    await until('the pull secret looked for', () =>
      server.logs
        .lines()
        .some(
          (l) => l.msg === 'pull secret not readable; fetching the release without credentials',
        ),
    );
    await until('the fetch failed', () =>
      server.logs
        .lines()
        .some((l) => l.msg === 'release data not fetched; the embedded catalog serves it'),
    );
    const r = await createPool(server, 'no-secret');
    expect(rules(r)).toContain('catalog');
    expect(server.logs.text()).not.toContain(PASSWORD);
  });
});
