// The project's client layer builds on @kubernetes/client-node: its informers (list, then watch
// with bookmarks, relist on 410) and typed APIs must work against this server unchanged.
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  makeInformer,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { upstreamText, UPSTREAM_CRDS } from './fixtures.js';
import { startKubeApi, statusFor, type KubeApi } from './server.js';
import { requestSummary, waitFor } from './support.js';

const NP = { apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'NodePool' };
const GROUP = 'hypershift.openshift.io';

function nodePool(name: string, stream = 'rhel-9', labels: Record<string, string> = {}) {
  return {
    ...NP,
    metadata: { name, namespace: 'clusters', labels },
    spec: {
      clusterName: 'example',
      arch: 'amd64',
      replicas: 2,
      management: { upgradeType: 'InPlace' },
      osImageStream: { name: stream },
      platform: { type: 'AWS' },
      release: { image: 'quay.io/openshift-release-dev/ocp-release:4.21.0-x86_64' },
    },
  };
}

/** name → resourceVersion, the comparable content of a cache or the store. */
function versions(objects: KubernetesObject[]): Record<string, string> {
  return Object.fromEntries(
    objects.map((o) => [
      `${o.metadata?.namespace}/${o.metadata?.name}`,
      String(o.metadata?.resourceVersion),
    ]),
  );
}

let api: KubeApi;
let kc: KubeConfig;

beforeEach(async () => {
  api = await startKubeApi({
    crds: UPSTREAM_CRDS.map(upstreamText),
    namespaces: ['default', 'clusters'],
    bookmarkIntervalMs: 200,
  });
  kc = new KubeConfig();
  kc.loadFromString(api.kubeconfig);
});

afterEach(async () => {
  await api.close();
});

function nodePoolInformer() {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const informer = makeInformer<KubernetesObject>(kc, `/apis/${GROUP}/v1beta1/nodepools`, () =>
    custom.listClusterCustomObject({ group: GROUP, version: 'v1beta1', plural: 'nodepools' }),
  );
  const errors: unknown[] = [];
  informer.on('error', (err) => errors.push(err));
  return { informer, errors };
}

describe('client-node informer', () => {
  it('syncs, then sees adds, updates and deletes', async () => {
    api.create(nodePool('a'));
    const { informer } = nodePoolInformer();
    const seen: string[] = [];
    informer.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
    informer.on('update', (o) => seen.push(`update ${o.metadata?.name}`));
    informer.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
    await informer.start();
    try {
      await waitFor('initial sync', () => informer.list().length === 1);
      api.create(nodePool('b'));
      const a = api.get({ ...NP, namespace: 'clusters', name: 'a' });
      api.update({
        ...a,
        spec: { ...(a?.spec as object), osImageStream: { name: 'rhel-10' } },
      } as never);
      api.remove({ ...NP, namespace: 'clusters', name: 'b' });
      await waitFor('three events', () => seen.length >= 4);
      expect(seen).toEqual(['add a', 'add b', 'update a', 'delete b']);
      const cached = informer.get('a', 'clusters') as {
        spec?: { osImageStream?: { name?: string } };
      };
      expect(cached?.spec?.osImageStream?.name).toBe('rhel-10');
      // The watch started from the list's resourceVersion.
      const list = api.requests.find(
        (r) => r.path.endsWith('/nodepools') && r.query.watch === undefined,
      );
      const watch = api.requests.find((r) => r.query.watch === 'true');
      expect(list?.code).toBe(200);
      expect(watch?.query.resourceVersion).toMatch(/^\d+$/);
    } finally {
      await informer.stop();
    }
  });

  it('recovers after the server ends its watches, missing nothing', async () => {
    const { informer } = nodePoolInformer();
    await informer.start();
    try {
      await waitFor('a watch', () => api.openWatches() === 1);
      const watchesBefore = api.requests.filter((r) => r.query.watch === 'true').length;
      expect(api.dropWatches()).toBe(1);
      api.create(nodePool('during-drop'));
      await waitFor('the object created during the drop', () =>
        informer.get('during-drop', 'clusters'),
      );
      await waitFor('a new watch', () => api.openWatches() === 1);
      expect(api.requests.filter((r) => r.query.watch === 'true').length).toBeGreaterThan(
        watchesBefore,
      );
      api.create(nodePool('after-drop'));
      await waitFor('the object created after the drop', () =>
        informer.get('after-drop', 'clusters'),
      );
      expect(versions([...informer.list()])).toEqual(versions(api.list(NP) as KubernetesObject[]));
    } finally {
      await informer.stop();
    }
  });

  it('reports an abruptly reset watch as an error, and a restart resyncs', async () => {
    const { informer, errors } = nodePoolInformer();
    await informer.start();
    try {
      await waitFor('a watch', () => api.openWatches() === 1);
      api.dropWatches({ abrupt: true });
      await waitFor('an informer error', () => errors.length > 0);
      api.create(nodePool('while-stopped'));
      await informer.start();
      await waitFor('the object created while stopped', () =>
        informer.get('while-stopped', 'clusters'),
      );
    } finally {
      await informer.stop();
    }
  });

  it(
    'relists after 410 Expired when its resourceVersion was compacted away',
    { timeout: 60_000 },
    async () => {
      api.create(nodePool('kept'));
      api.create(nodePool('removed'));
      const { informer, errors } = nodePoolInformer();
      await informer.start();
      try {
        await waitFor('initial sync', () => informer.list().length === 2);
        const staleRv = (
          informer as unknown as { latestResourceVersion(): string }
        ).latestResourceVersion();
        // The next watch fails (the informer stops on errors), so it keeps its old resourceVersion
        // while the store moves on and forgets its history.
        api.failNext(1, {
          status: statusFor(503, 'ServiceUnavailable'),
          match: (r) => r.query.watch === 'true',
        });
        api.dropWatches();
        await waitFor(
          'the failed watch',
          () => errors.length > 0,
          15_000,
          () => requestSummary(api),
        );
        api.create(nodePool('new'));
        api.remove({ ...NP, namespace: 'clusters', name: 'removed' });
        const kept = api.get({ ...NP, namespace: 'clusters', name: 'kept' });
        api.update({
          ...kept,
          metadata: { ...kept?.metadata, labels: { changed: 'yes' } },
        } as never);
        api.compact();
        const listsBefore = api.requests.filter(
          (r) => r.method === 'GET' && r.query.watch === undefined,
        ).length;
        await informer.start();
        // Generous: client-node backs off (1 s, 2 s, 4 s, ...) between watch attempts.
        await waitFor(
          'the cache to equal the store',
          () => {
            const want = versions(api.list(NP) as KubernetesObject[]);
            return JSON.stringify(versions([...informer.list()])) === JSON.stringify(want);
          },
          40_000,
          () => `${requestSummary(api)}\ninformer errors: ${errors.map(String).join('; ')}`,
        );
        expect(informer.get('removed', 'clusters')).toBeUndefined();
        // It watched from the stale RV, got 410, and listed again.
        const stale = api.requests.find(
          (r) => r.query.watch === 'true' && r.query.resourceVersion === staleRv && r.code === 200,
        );
        expect(stale).toBeDefined();
        const lists = api.requests.filter(
          (r) => r.method === 'GET' && r.query.watch === undefined,
        ).length;
        expect(lists).toBeGreaterThan(listsBefore);
      } finally {
        await informer.stop();
      }
    },
  );
});

describe('client-node informer with a label selector', () => {
  it('sees only matching objects, and an object leaving the selection as a delete', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const informer = makeInformer<KubernetesObject>(
      kc,
      '/api/v1/configmaps',
      () => core.listConfigMapForAllNamespaces({ labelSelector: 'streamguard.io/watched=true' }),
      'streamguard.io/watched=true',
    );
    const deleted: string[] = [];
    informer.on('delete', (o) => deleted.push(String(o.metadata?.name)));
    const cm = (name: string, watched: string) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'clusters', labels: { 'streamguard.io/watched': watched } },
    });
    api.create(cm('in', 'true'));
    api.create(cm('out', 'false'));
    await informer.start();
    try {
      await waitFor('initial sync', () => informer.list().length === 1);
      expect(informer.list().map((o) => o.metadata?.name)).toEqual(['in']);
      const current = api.get({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: 'clusters',
        name: 'in',
      });
      api.update({
        ...current,
        metadata: { ...current?.metadata, labels: { 'streamguard.io/watched': 'false' } },
      } as never);
      await waitFor('the delete', () => deleted.length > 0);
      expect(deleted).toEqual(['in']);
      expect(informer.list()).toEqual([]);
      const watch = api.requests.find((r) => r.query.watch === 'true');
      expect(watch?.query.labelSelector).toBe('streamguard.io/watched=true');
    } finally {
      await informer.stop();
    }
  });
});

describe('client-node typed APIs', () => {
  it('creates, reads and replaces ConfigMaps and NodePools; a stale replace is a 409', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const cm = await core.createNamespacedConfigMap({
      namespace: 'clusters',
      body: { metadata: { name: 'config' }, data: { a: '1' } },
    });
    expect(cm.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    const listed = await core.listConfigMapForAllNamespaces();
    expect(listed.items.map((i) => i.metadata?.name)).toEqual(['config']);

    const created = (await custom.createNamespacedCustomObject({
      group: GROUP,
      version: 'v1beta1',
      namespace: 'clusters',
      plural: 'nodepools',
      body: nodePool('p'),
    })) as KubernetesObject;
    const replace = (body: unknown) =>
      custom.replaceNamespacedCustomObject({
        group: GROUP,
        version: 'v1beta1',
        namespace: 'clusters',
        plural: 'nodepools',
        name: 'p',
        body,
      });
    const changed = { ...nodePool('p', 'rhel-10'), metadata: { ...created.metadata } };
    const replaced = (await replace(changed)) as KubernetesObject;
    expect(replaced.metadata?.generation).toBe(2);
    await expect(replace(changed)).rejects.toMatchObject({ code: 409 });
  });
});
