// The live context against a local API server speaking the real list/watch protocol, with the
// real upstream CRDs: readiness waits for every informer, cluster changes reach decisions,
// dropped watches and 410 Gone end in a view equal to the store, the installed NodePool CRD
// decides field-supported, and deciding never calls the API server.
import { afterEach, describe, expect, it } from 'vitest';
import { kubeConfigFrom } from '../../src/kube/config.js';
import { LiveContextSource } from '../../src/live/context-source.js';
import { RegistryClients } from '../../src/release/clients.js';
import { LiveReleaseCatalog } from '../../src/release/live-catalog.js';
import { pullSecretFromSecret } from '../../src/release/pull-secret.js';
import {
  admitDeferred,
  admitOrDefer,
  type Admitted,
  type Deferred,
} from '../../src/server/admit.js';
import { createMetrics } from '../../src/server/metrics.js';
import type { ClusterState } from '../../src/state/index.js';
import type { LiveView } from '../../src/live/view.js';
import { UPSTREAM_CRDS, upstreamText } from '../kube-api/fixtures.js';
import { startKubeApi, statusFor, type KubeApi } from '../kube-api/server.js';
import { captureLogs, type LogCapture } from '../server/support.js';
import {
  exampleReview,
  exampleState,
  NODEPOOL,
  NODEPOOL_CRD_DEFAULT,
  nodePoolCrd,
  silentRegistry,
  startClusterApi,
  until,
} from './support.js';

interface Opened {
  source: LiveContextSource;
  releases: LiveReleaseCatalog;
  logs: LogCapture;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function cluster(objects = exampleState('hostedcluster.yaml')): Promise<KubeApi> {
  const api = await startClusterApi(objects);
  cleanups.push(() => api.close());
  return api;
}

async function open(api: KubeApi): Promise<Opened> {
  const logs = captureLogs();
  const clients = new RegistryClients();
  const releases = new LiveReleaseCatalog({ clients, logger: logs.logger });
  const source = await LiveContextSource.open({
    kc: kubeConfigFrom({ kubeconfig: api.kubeconfigPath }),
    releases,
    logger: logs.logger,
    metrics: createMetrics({ processMetrics: false }),
    backoff: { initialMs: 20, maxMs: 200 },
    onClose: () => void clients.close(),
  });
  const opened = { source, releases, logs, close: async () => source.close() };
  cleanups.push(opened.close);
  return opened;
}

function stateOf(source: LiveContextSource): ClusterState {
  const context = source.current();
  if (!context) throw new Error('no context yet');
  return (context.cluster as LiveView).state;
}

/** Decides one request as the webhook does (waiting for a release being fetched, 2 s at most). */
async function decide(source: LiveContextSource, body: string): Promise<Admitted> {
  const context = source.current();
  if (!context) throw new Error('not ready');
  const result = admitOrDefer(Buffer.from(body), 'validate', context, source);
  if (result.status === 400) throw new Error(result.error);
  return result.status === 'wait' ? admitDeferred(result, 'validate', source, 2000) : result;
}

const rulesOf = (a: Admitted) => a.decision.findings.map((f) => `${f.severity} ${f.rule}`);

/** namespace/name@resourceVersion of every object of a kind, sorted. */
interface Identified {
  metadata?: { namespace?: unknown; name?: unknown; resourceVersion?: unknown };
}
const identities = (objects: readonly Identified[]) =>
  objects
    .map((o) => {
      const m = o.metadata;
      return `${String(m?.namespace)}/${String(m?.name)}@${String(m?.resourceVersion)}`;
    })
    .sort();

type PoolObject = Record<string, unknown> & {
  metadata: Record<string, unknown>;
  spec: Record<string, unknown>;
};

function pool(name: string): PoolObject {
  const [template] = exampleState('nodepools.yaml');
  const copy = structuredClone(template) as PoolObject;
  copy.metadata = { name, namespace: 'clusters' };
  return copy;
}

describe('live context', () => {
  it('is not ready until every informer has synced, and retries a failing list', async () => {
    const api = await cluster();
    api.failNext(3, {
      status: statusFor(500),
      match: (r) => r.path.endsWith('/nodepools') && r.query.watch === undefined,
    });
    const { source, logs } = await open(api);
    expect(source.current()).toBeUndefined();
    expect(source.unsynced()).toContain('nodepools.hypershift.openshift.io');
    const context = await source.ready();
    expect(source.current()).toBe(context);
    expect(source.unsynced()).toEqual([]);
    const failed = api.requests.filter((r) => r.path.endsWith('/nodepools') && r.code === 500);
    expect(failed).toHaveLength(3);
    const warnings = logs.lines().filter((l) => l.msg === 'cluster cache problem');
    expect(warnings.length).toBeGreaterThanOrEqual(3);
    expect(warnings[0]).toMatchObject({ resource: 'nodepools.hypershift.openshift.io' });
    expect(String(warnings[0]?.err)).toContain(api.url);
    // The NodePool CRD was listed by name only; Secrets were never listed or watched.
    const crdLists = api.requests.filter((r) => r.path.endsWith('/customresourcedefinitions'));
    expect(
      crdLists.every(
        (r) => r.query.fieldSelector === 'metadata.name=nodepools.hypershift.openshift.io',
      ),
    ).toBe(true);
    expect(api.requests.filter((r) => r.path.endsWith('/secrets'))).toEqual([]);
  });

  it('backs off exponentially while a watch keeps failing, then resumes', async () => {
    const api = await cluster([
      ...exampleState('hostedcluster.yaml'),
      ...exampleState('nodepools.yaml'),
    ]);
    const { source, logs } = await open(api);
    await source.ready();
    api.failNext(4, {
      status: statusFor(500),
      match: (r) => r.path.endsWith('/nodepools') && r.query.watch === 'true',
    });
    api.dropWatches();
    api.create(pool('after-failures'));
    await until('the pool seen', () => stateOf(source).nodePool('clusters', 'after-failures'));
    const retries = logs
      .lines()
      .filter(
        (l) =>
          l.msg === 'cluster cache problem' && l.resource === 'nodepools.hypershift.openshift.io',
      )
      .map((l) => l.retryMs);
    expect(retries).toEqual([20, 40, 80, 160]);
  });

  it('is ready on a cluster without the mirror set API (not OpenShift), and not without NodePools', async () => {
    const hypershiftOnly = await startKubeApi({
      crds: UPSTREAM_CRDS.filter((f) => f.startsWith('hypershift-')).map(upstreamText),
      namespaces: ['default', 'clusters'],
    });
    cleanups.push(() => hypershiftOnly.close());
    const { source } = await open(hypershiftOnly);
    await source.ready();
    expect(stateOf(source).imageDigestMirrorSets()).toEqual([]);
    const mirrorSets = hypershiftOnly.requests.filter((r) =>
      r.path.endsWith('/imagedigestmirrorsets'),
    );
    expect(mirrorSets[0]?.code).toBe(404);

    const noHypershift = await startKubeApi({ namespaces: ['default'] });
    cleanups.push(() => noHypershift.close());
    const other = await open(noHypershift);
    await until('a failed NodePool list', () =>
      noHypershift.requests.some((r) => r.path.endsWith('/nodepools') && r.code === 404),
    );
    const missing = [
      'hostedclusters.hypershift.openshift.io',
      'nodepools.hypershift.openshift.io',
    ].join();
    await until(
      'only the HyperShift APIs unsynced',
      () => other.source.unsynced().join() === missing,
    );
    expect(other.source.current()).toBeUndefined();
  });

  it('lists in pages and keeps only what the engine reads of 1,200 ConfigMaps', async () => {
    const many = Array.from({ length: 1200 }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `cm-${i}`, namespace: 'clusters' },
      data: i % 2 === 0 ? { config: `# ${i}` } : { other: 'x'.repeat(1000) },
    }));
    const user = pool('uses-two');
    user.spec.config = [{ name: 'cm-0' }, { name: 'cm-1199' }];
    const api = await cluster([...exampleState('hostedcluster.yaml'), ...many, user]);
    const { source } = await open(api);
    await source.ready();
    const pages = api.requests.filter((r) => r.path === '/api/v1/configmaps' && !r.query.watch);
    expect(pages.map((r) => r.query.continue === undefined)).toEqual([true, false, false]);
    // The engine's state holds the ConfigMaps a NodePool names, as far as it reads them.
    const state = stateOf(source);
    expect(state.configMap('clusters', 'cm-0')?.data).toEqual({ config: '# 0' });
    expect(state.configMap('clusters', 'cm-1199')).toBeDefined();
    expect(state.configMap('clusters', 'cm-1199')?.data).toBeUndefined();
    expect(state.configMap('clusters', 'cm-2')).toBeUndefined();
    // A pool naming another one later finds it at once: the informer knows them all.
    const moved: PoolObject = { ...user, spec: { ...user.spec, config: [{ name: 'cm-2' }] } };
    api.update(moved);
    await until('cm-2 in the state', () => stateOf(source).configMap('clusters', 'cm-2'));
    expect(stateOf(source).configMap('clusters', 'cm-0')).toBeUndefined();
  });

  it('sees a NodePool appear: a ConfigMap edit allowed before is denied after', async () => {
    const api = await cluster([
      ...exampleState('hostedcluster.yaml'),
      ...exampleState('configmaps.yaml'),
    ]);
    const { source } = await open(api);
    await source.ready();
    const review = (uid: string) => exampleReview('configmap-add-runc.json', uid);
    const before = await decide(source, review('before'));
    expect(before.decision.allowed).toBe(true);

    const inplace = exampleState('nodepools.yaml').find(
      (p) => p.metadata?.name === 'workers-inplace',
    );
    if (!inplace) throw new Error('no workers-inplace in examples/state');
    api.create(inplace);
    await until(
      'the pool in the view',
      () => stateOf(source).nodePoolsReferencing('clusters', 'workers-runtime').length === 1,
    );
    const after = await decide(source, review('after'));
    // workers-inplace runs rhel-10 (status) and is InPlace: runc would take it back to rhel-9.
    expect(after.decision.allowed).toBe(false);
    expect(rulesOf(after)).toContain('deny no-downgrade');
    expect(rulesOf(before).filter((r) => r.startsWith('deny'))).toEqual([]);
  });

  it('ends equal to the store after dropped watches, changes while away and 410 Gone', async () => {
    const api = await cluster([
      ...exampleState('hostedcluster.yaml'),
      ...exampleState('nodepools.yaml'),
      ...exampleState('configmaps.yaml'),
    ]);
    const { source } = await open(api);
    await source.ready();
    const same = () => {
      const view = identities(stateOf(source).nodePools());
      const store = identities(api.list({ ...NODEPOOL, namespace: 'clusters' }));
      return JSON.stringify(view) === JSON.stringify(store);
    };
    expect(same()).toBe(true);

    const nodePoolLists = (from: number) =>
      api.requests
        .slice(from)
        .filter((r) => r.path.endsWith('/nodepools') && r.query.watch === undefined);

    // Watches end while things change: the informers resume from their resourceVersion.
    let marker = api.requests.length;
    api.dropWatches();
    api.create(pool('added-1'));
    api.remove({ ...NODEPOOL, namespace: 'clusters', name: 'workers-legacy' });
    await until('view equal to the store after a drop', same);
    expect(stateOf(source).nodePool('clusters', 'workers-legacy')).toBeUndefined();
    expect(nodePoolLists(marker)).toEqual([]);

    // Cut abruptly, change, and forget the history before they are back: 410 Gone, relist.
    marker = api.requests.length;
    api.dropWatches({ abrupt: true });
    api.create(pool('added-2'));
    api.remove({ ...NODEPOOL, namespace: 'clusters', name: 'added-1' });
    api.compact();
    await until('view equal to the store after 410', same);
    expect(nodePoolLists(marker).length).toBeGreaterThanOrEqual(1);
    expect(stateOf(source).nodePool('clusters', 'added-2')).toBeDefined();
    expect(stateOf(source).nodePool('clusters', 'added-1')).toBeUndefined();
  });

  it('decides field-supported from the NodePool CRD installed now', async () => {
    const api = await cluster();
    const { source } = await open(api);
    await source.ready();
    const create = (uid: string) => exampleReview('nodepool-create.json', uid);
    // The TechPreviewNoUpgrade CRD has spec.osImageStream: pinning it on CREATE is fine.
    const withField = await decide(source, explicitStream(create('tech-preview')));
    expect(rulesOf(withField)).not.toContain('warn field-supported');

    api.update(nodePoolCrd(NODEPOOL_CRD_DEFAULT));
    await until(
      'the Default CRD in the view',
      () => !stateOf(source).nodePoolCrdHasOsImageStream(),
    );
    const without = await decide(source, explicitStream(create('default')));
    expect(rulesOf(without)).toContain('warn field-supported');
  });

  it('reads the pull secret by GET, never logs it, and decides without calling the API server', async () => {
    const password = 'sekr3t-pull-token';
    const auth = Buffer.from(`user:${password}`).toString('base64');
    const dockerConfig = JSON.stringify({ auths: { '127.0.0.1:9': { auth } } });
    const api = await cluster([
      ...exampleState('hostedcluster.yaml'),
      ...exampleState('nodepools.yaml'),
      ...exampleState('configmaps.yaml'),
      {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/dockerconfigjson',
        metadata: { name: 'example-pull-secret', namespace: 'clusters' },
        data: { '.dockerconfigjson': Buffer.from(dockerConfig).toString('base64') },
      },
    ]);
    const { source, logs } = await open(api);
    await source.ready();
    await until('the pull secret read', () =>
      api.requests.some(
        (r) => r.path === '/api/v1/namespaces/clusters/secrets/example-pull-secret',
      ),
    );
    const secretRequests = api.requests.filter((r) => r.path.includes('/secrets'));
    // One GET of that one Secret, shared by the releases it pulls; no list, no watch.
    expect(secretRequests.map((r) => `${r.method} ${r.path} ${JSON.stringify(r.query)}`)).toEqual([
      'GET /api/v1/namespaces/clusters/secrets/example-pull-secret {}',
    ]);

    const marker = api.requests.length;
    const files = [
      'configmap-add-runc.json',
      'nodepool-create.json',
      'nodepool-downgrade-inplace.json',
    ];
    for (let i = 0; i < 30; i++) {
      const file = files[i % files.length] as string;
      const admitted = await decide(source, exampleReview(file, `uid-${i}`));
      expect(admitted.status).toBe(200);
    }
    expect(api.requests.slice(marker)).toEqual([]);
    expect(logs.text()).not.toContain(password);
    expect(logs.text()).not.toContain(auth);
  });
});

describe('release data being fetched', () => {
  it('makes a request wait until the deadline, then decide on the fallback and say so', async () => {
    const registry = await silentRegistry();
    cleanups.push(() => registry.close());
    // The HostedCluster's release lives on a registry that accepts and never answers.
    const api = await cluster(exampleState('hostedcluster.yaml', registry.host));
    const { source } = await open(api);
    const context = await source.ready();

    const slow = exampleReview('nodepool-create.json', 'slow', registry.host);
    const deferred = admitOrDefer(Buffer.from(slow), 'validate', context, source);
    expect(deferred.status).toBe('wait');
    const admitted = await admitDeferred(deferred as Deferred, 'validate', source, 300);
    expect(admitted.fallback).toBe('release data was still being fetched at the 300 ms deadline');
    const note = admitted.decision.findings.find((f) => f.rule === 'context');
    expect(note?.severity).toBe('warn');
    expect(note?.message).toContain('onMissingContext: warn');
    expect(admitted.decision.findings.map((f) => f.rule)).toContain('catalog');
  });

  it('does not wait again for a release whose fetch has failed', async () => {
    const api = await cluster();
    const { source, releases } = await open(api);
    const context = await source.ready();
    const body = exampleReview('nodepool-create.json', 'dead');
    const first = admitOrDefer(Buffer.from(body), 'validate', context, source);
    if (first.status === 'wait') await first.wait;
    // Nothing answers at the registry: the fetch failed, so the decision is made at once.
    const again = admitOrDefer(Buffer.from(body), 'validate', context, source);
    expect(again.status).toBe(200);
    expect((again as Admitted).decision.findings.map((f) => f.rule)).toContain('catalog');
    // Nor while that failure is being retried (a pull secret appeared, or the backoff ended).
    const review = JSON.parse(body) as {
      request: { object: { spec: { release: { image: string } } } };
    };
    const pullspec = review.request.object.spec.release.image;
    const auths = { auths: { [pullspec.split('/')[0] ?? '']: { auth: 'b3RoZXI6c2VjcmV0' } } };
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'other-pull-secret', namespace: 'clusters' },
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from(JSON.stringify(auths)).toString('base64') },
    };
    const other = pullSecretFromSecret(secret);
    expect(releases.failure(pullspec)).toBeDefined();
    releases.prefetch(pullspec, other);
    expect(releases.status(pullspec)).toBe('pending');
    const retrying = admitOrDefer(Buffer.from(body), 'validate', context, source);
    expect(retrying.status).toBe(200);
    expect((retrying as Admitted).decision.findings.map((f) => f.rule)).toContain('catalog');
  });
});

/** The same CREATE with spec.osImageStream set explicitly. */
function explicitStream(body: string): string {
  const review = JSON.parse(body) as {
    request: { object: { spec: Record<string, unknown> } };
  };
  review.request.object.spec.osImageStream = { name: 'rhel-10' };
  return JSON.stringify(review);
}
