// The wire protocol over raw HTTPS, checked against what the real API server answers: auth,
// Status shapes, optimistic concurrency, selectors, paging, patches, deletes and watches.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { samplePool, upstreamText, UPSTREAM_CRDS } from './fixtures.js';
import { stringify } from 'yaml';
import { startKubeApi, statusFor, type KubeApi } from './server.js';
import { call, openWatch, waitFor, type WatchEvent } from './support.js';

const NP_PATH = '/apis/hypershift.openshift.io/v1beta1/namespaces/clusters/nodepools';
const CM_PATH = '/api/v1/namespaces/clusters/configmaps';
const NP = { apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'NodePool' };

let api: KubeApi;

beforeAll(async () => {
  api = await startKubeApi({
    crds: UPSTREAM_CRDS.map(upstreamText),
    namespaces: ['default', 'clusters'],
    bookmarkIntervalMs: 100,
  });
});

afterAll(async () => {
  await api.close();
});

interface KubeItem {
  metadata: { name: string };
}

function configMap(
  name: string,
  labels: Record<string, string> = {},
  data: Record<string, string> = {},
) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'clusters', labels },
    data,
  };
}

describe('authentication and TLS', () => {
  it('answers 401 Unauthorized Status without a token or with a wrong one', async () => {
    for (const token of [null, 'wrong']) {
      const res = await call(api, 'GET', '/api/v1/namespaces', { token });
      expect(res.code).toBe(401);
      expect(res.body).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Unauthorized',
        reason: 'Unauthorized',
        code: 401,
      });
    }
    expect((await call(api, 'GET', '/version')).body).toMatchObject({
      major: '1',
      gitVersion: /^v1\.\d+\.\d+/,
    });
  });

  it('is trusted through the kubeconfig CA only', async () => {
    const { Agent, request } = await import('undici');
    const untrusted = new Agent();
    await expect(request(`${api.url}/version`, { dispatcher: untrusted })).rejects.toThrow(
      /certificate/,
    );
    await untrusted.close();
    expect(api.kubeconfig).toContain(
      `certificate-authority-data: ${Buffer.from(api.caPem).toString('base64')}`,
    );
    expect(api.kubeconfig).toContain(`token: ${api.token}`);
  });
});

describe('discovery', () => {
  it('lists the groups and the CRD resources with their names, scope and verbs', async () => {
    const groups = (await call(api, 'GET', '/apis')).body as { groups: { name: string }[] };
    expect(groups.groups.map((g) => g.name)).toEqual(
      expect.arrayContaining([
        'admissionregistration.k8s.io',
        'apiextensions.k8s.io',
        'hypershift.openshift.io',
        'config.openshift.io',
      ]),
    );
    const hs = (await call(api, 'GET', '/apis/hypershift.openshift.io/v1beta1')).body as {
      resources: {
        name: string;
        kind: string;
        namespaced: boolean;
        shortNames?: string[];
        verbs: string[];
      }[];
    };
    const np = hs.resources.find((r) => r.name === 'nodepools');
    expect(np).toMatchObject({ kind: 'NodePool', namespaced: true, shortNames: ['np', 'nps'] });
    expect(np?.verbs).toEqual(expect.arrayContaining(['list', 'watch', 'patch']));
    expect(hs.resources.map((r) => r.name)).toContain('nodepools/status');
    const idms = (await call(api, 'GET', '/apis/config.openshift.io/v1')).body as typeof hs;
    expect(idms.resources.find((r) => r.name === 'imagedigestmirrorsets')).toMatchObject({
      namespaced: false,
      shortNames: ['idms'],
    });
  });

  it('answers aggregated discovery only when asked for it', async () => {
    const accept =
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json';
    const agg = await call(api, 'GET', '/apis', { accept });
    expect(agg.contentType).toBe(
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList',
    );
    expect(agg.body.kind).toBe('APIGroupDiscoveryList');
    const plain = await call(api, 'GET', '/apis');
    expect(plain.body.kind).toBe('APIGroupList');
  });

  it('serves the CRDs as objects, so a client can see whether NodePool has spec.osImageStream', async () => {
    const crd = await call(
      api,
      'GET',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/nodepools.hypershift.openshift.io',
    );
    expect(crd.code).toBe(200);
    const schema = JSON.stringify(crd.body.spec);
    expect(schema).toContain('osImageStream');
    expect(crd.body.status).toMatchObject({
      conditions: expect.arrayContaining([
        expect.objectContaining({ type: 'Established', status: 'True' }),
      ]),
    });
  });

  it('starts serving a CRD created through the API', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        scope: 'Cluster',
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: 'object' } },
          },
        ],
      },
    };
    expect((await call(api, 'GET', '/apis/example.com/v1/widgets')).code).toBe(404);
    expect(
      (
        await call(api, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
          body: crd,
        })
      ).code,
    ).toBe(201);
    const w = await call(api, 'POST', '/apis/example.com/v1/widgets', {
      body: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w1' } },
    });
    expect(w.code).toBe(201);
    await call(
      api,
      'DELETE',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com',
    );
    expect((await call(api, 'GET', '/apis/example.com/v1/widgets')).code).toBe(404);
  });
});

describe('writes', () => {
  it('creates with uid, timestamp, RV and generation; a second POST of the name is 409 AlreadyExists', async () => {
    const [a, b] = await Promise.all([
      call(api, 'POST', NP_PATH, { body: samplePool('twin') }),
      call(api, 'POST', NP_PATH, { body: samplePool('twin') }),
    ]);
    const codes = [a.code, b.code].sort();
    expect(codes).toEqual([201, 409]);
    const created = (a.code === 201 ? a : b).body as {
      metadata: Record<string, unknown>;
      status?: unknown;
    };
    expect(created.metadata).toMatchObject({
      generation: 1,
      uid: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(created.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(created.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(created.status).toBeUndefined(); // dropped: NodePool has a status subresource
    expect((a.code === 409 ? a : b).body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'nodepools.hypershift.openshift.io "twin" already exists',
      reason: 'AlreadyExists',
      details: { name: 'twin', group: 'hypershift.openshift.io', kind: 'nodepools' },
      code: 409,
    });
  });

  it('lets one of two PUTs with the same resourceVersion win; the other is 409 Conflict', async () => {
    const created = (await call(api, 'POST', CM_PATH, { body: configMap('race') })).body;
    const put = (value: string) =>
      call(api, 'PUT', `${CM_PATH}/race`, { body: { ...created, data: { value } } });
    const results = await Promise.all([put('one'), put('two')]);
    expect(results.map((r) => r.code).sort()).toEqual([200, 409]);
    const loser = results.find((r) => r.code === 409);
    expect(loser?.body).toMatchObject({
      reason: 'Conflict',
      message:
        'Operation cannot be fulfilled on configmaps "race": the object has been modified; please apply your changes to the latest version and try again',
      details: { name: 'race', kind: 'configmaps' },
    });
    const winner = results.find((r) => r.code === 200)?.body as { data: { value: string } };
    expect((await call(api, 'GET', `${CM_PATH}/race`)).body.data).toEqual(winner.data);
  });

  it('bumps generation on spec changes only; a no-op update keeps the resourceVersion', async () => {
    const created = (await call(api, 'POST', NP_PATH, { body: samplePool('gen') })).body;
    const meta = created.metadata as Record<string, unknown>;
    const labelled = (
      await call(api, 'PUT', `${NP_PATH}/gen`, {
        body: { ...created, metadata: { ...meta, labels: { a: 'b' } } },
      })
    ).body;
    expect(labelled.metadata).toMatchObject({ generation: 1 });
    const spec = { ...(labelled.spec as object), replicas: 5 };
    const respec = (await call(api, 'PUT', `${NP_PATH}/gen`, { body: { ...labelled, spec } })).body;
    expect(respec.metadata).toMatchObject({ generation: 2 });
    const again = (await call(api, 'PUT', `${NP_PATH}/gen`, { body: respec })).body;
    expect((again.metadata as { resourceVersion: string }).resourceVersion).toBe(
      (respec.metadata as { resourceVersion: string }).resourceVersion,
    );
    // Custom resources need a resourceVersion on PUT; the status subresource writes status only.
    const { resourceVersion: _rv, ...withoutRv } = respec.metadata as Record<string, unknown>;
    expect(
      (await call(api, 'PUT', `${NP_PATH}/gen`, { body: { ...respec, metadata: withoutRv } })).code,
    ).toBe(422);
    const status = await call(api, 'PUT', `${NP_PATH}/gen/status`, {
      body: { ...respec, spec: { replicas: 99 }, status: { replicas: 5 } },
    });
    expect(status.body).toMatchObject({
      spec: { replicas: 5 },
      status: { replicas: 5 },
      metadata: { generation: 2 },
    });
  });

  it('patches: merge and JSON patch everywhere, strategic merge on built-ins only', async () => {
    await call(api, 'POST', NP_PATH, { body: samplePool('patched') });
    const merge = await call(api, 'PATCH', `${NP_PATH}/patched`, {
      contentType: 'application/merge-patch+json',
      body: { spec: { osImageStream: { name: 'rhel-10' }, nodeDrainTimeout: null } },
    });
    expect(merge.code).toBe(200);
    expect(merge.body.spec).toMatchObject({ osImageStream: { name: 'rhel-10' } });
    expect(merge.body.spec).not.toHaveProperty('nodeDrainTimeout');
    const jsonPatch = await call(api, 'PATCH', `${NP_PATH}/patched`, {
      contentType: 'application/json-patch+json',
      body: [
        { op: 'test', path: '/spec/osImageStream/name', value: 'rhel-10' },
        { op: 'replace', path: '/spec/replicas', value: 4 },
      ],
    });
    expect(jsonPatch.body.spec).toMatchObject({ replicas: 4 });
    const strategic = await call(api, 'PATCH', `${NP_PATH}/patched`, {
      contentType: 'application/strategic-merge-patch+json',
      body: { spec: {} },
    });
    expect(strategic.code).toBe(415);
    const stale = await call(api, 'PATCH', `${NP_PATH}/patched`, {
      contentType: 'application/merge-patch+json',
      body: { metadata: { resourceVersion: '1' }, spec: { replicas: 1 } },
    });
    expect(stale.code).toBe(409);

    const vwc = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'streamguard' },
      webhooks: [
        {
          name: 'a.streamguard.io',
          clientConfig: { caBundle: 'b2xk' },
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
        },
        {
          name: 'b.streamguard.io',
          clientConfig: { caBundle: 'b2xk' },
          sideEffects: 'None',
          admissionReviewVersions: ['v1'],
        },
      ],
    };
    const vwcPath = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';
    await call(api, 'POST', vwcPath, { body: vwc });
    const smp = await call(api, 'PATCH', `${vwcPath}/streamguard`, {
      contentType: 'application/strategic-merge-patch+json',
      body: { webhooks: [{ name: 'b.streamguard.io', clientConfig: { caBundle: 'bmV3' } }] },
    });
    expect(smp.code).toBe(200);
    expect(smp.body.webhooks).toEqual([
      vwc.webhooks[0],
      { ...vwc.webhooks[1], clientConfig: { caBundle: 'bmV3' } },
    ]);
    expect(smp.body.metadata).toMatchObject({ generation: 2 });
    const ssa = await call(api, 'PATCH', `${vwcPath}/streamguard`, {
      contentType: 'application/apply-patch+yaml',
      body: 'webhooks: []',
    });
    expect(ssa.code).toBe(415);
  });

  it('deletes: a Success Status for built-ins, the object for custom resources, 202 while finalizers remain', async () => {
    await call(api, 'POST', CM_PATH, { body: configMap('gone') });
    const cm = await call(api, 'DELETE', `${CM_PATH}/gone`);
    expect(cm.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name: 'gone', kind: 'configmaps', uid: expect.any(String) },
    });
    expect((await call(api, 'GET', `${CM_PATH}/gone`)).body).toMatchObject({
      code: 404,
      reason: 'NotFound',
      message: 'configmaps "gone" not found',
    });

    const held = {
      ...samplePool('held'),
      metadata: { name: 'held', namespace: 'clusters', finalizers: ['example.com/hold'] },
    };
    const created = (await call(api, 'POST', NP_PATH, { body: held })).body as {
      metadata: Record<string, unknown>;
    };
    const wrongUid = await call(api, 'DELETE', `${NP_PATH}/held`, {
      body: { preconditions: { uid: 'nope' } },
    });
    expect(wrongUid.code).toBe(409);
    const deleting = await call(api, 'DELETE', `${NP_PATH}/held`, {
      body: {
        kind: 'DeleteOptions',
        apiVersion: 'v1',
        preconditions: { uid: created.metadata.uid },
      },
    });
    expect(deleting.code).toBe(202);
    expect(deleting.body.metadata).toHaveProperty('deletionTimestamp');
    const released = await call(api, 'PATCH', `${NP_PATH}/held`, {
      contentType: 'application/merge-patch+json',
      body: { metadata: { finalizers: null } },
    });
    expect(released.code).toBe(200);
    expect((await call(api, 'GET', `${NP_PATH}/held`)).code).toBe(404);
  });

  it('validates names, kinds and namespaces with the real error shapes', async () => {
    const badLabel = await call(api, 'POST', CM_PATH, {
      body: configMap('labelled', { team: 'not valid!' }),
    });
    expect(badLabel.body).toMatchObject({
      code: 422,
      details: { causes: [{ field: 'metadata.labels' }] },
    });
    const bad = await call(api, 'POST', CM_PATH, { body: configMap('Not_Valid') });
    expect(bad.code).toBe(422);
    expect(bad.body).toMatchObject({
      reason: 'Invalid',
      details: { causes: [{ field: 'metadata.name' }] },
    });
    const noNs = await call(api, 'POST', '/api/v1/namespaces/nowhere/configmaps', {
      body: { ...configMap('x'), metadata: { name: 'x' } },
    });
    expect(noNs.body).toMatchObject({ code: 404, message: 'namespaces "nowhere" not found' });
    const otherNs = await call(api, 'POST', CM_PATH, {
      body: { ...configMap('x'), metadata: { name: 'x', namespace: 'default' } },
    });
    expect(otherNs.code).toBe(400);
    const noKind = await call(api, 'POST', NP_PATH, { body: { metadata: { name: 'x' } } });
    expect(noKind.body).toMatchObject({
      code: 400,
      message: expect.stringMatching(/^Object 'Kind' is missing/),
    });
    const generated = await call(api, 'POST', CM_PATH, {
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' } },
    });
    expect((generated.body.metadata as { name: string }).name).toMatch(
      /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/,
    );
    const dry = await call(api, 'POST', `${CM_PATH}?dryRun=All`, { body: configMap('dry') });
    expect(dry.code).toBe(201);
    expect(dry.body.metadata).not.toHaveProperty('resourceVersion');
    expect((await call(api, 'GET', `${CM_PATH}/dry`)).code).toBe(404);
    expect(
      (await call(api, 'GET', '/apis/hypershift.openshift.io/v1beta1/nothings')).body,
    ).toMatchObject({ code: 404, reason: 'NotFound' });
  });

  it('reads YAML bodies, deletes collections by label, and deletes what a namespace holds with it', async () => {
    await call(api, 'POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } },
    });
    for (const [name, keep] of [
      ['a', 'no'],
      ['b', 'no'],
      ['c', 'yes'],
    ]) {
      const yaml = stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name, labels: { keep } },
      });
      const res = await call(api, 'POST', '/api/v1/namespaces/doomed/configmaps', {
        body: yaml,
        contentType: 'application/yaml',
      });
      expect(res.code).toBe(201);
    }
    const removed = await call(
      api,
      'DELETE',
      '/api/v1/namespaces/doomed/configmaps?labelSelector=keep%3Dno',
    );
    expect(removed.body).toMatchObject({
      kind: 'ConfigMapList',
      items: [{ metadata: { name: 'a' } }, { metadata: { name: 'b' } }],
    });
    const left = (await call(api, 'GET', '/api/v1/namespaces/doomed/configmaps')).body
      .items as KubeItem[];
    expect(left.map((i) => i.metadata.name)).toEqual(['c']);
    const ns = await call(api, 'DELETE', '/api/v1/namespaces/doomed');
    expect(ns.body).toMatchObject({ kind: 'Namespace', metadata: { name: 'doomed' } });
    expect(
      api.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'doomed', name: 'c' }),
    ).toBeUndefined();
  });

  it('moves Secret stringData into base64 data', async () => {
    const res = await call(api, 'POST', '/api/v1/namespaces/clusters/secrets', {
      body: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'tls' },
        type: 'kubernetes.io/tls',
        stringData: { 'tls.crt': 'PEM' },
      },
    });
    expect(res.body).toMatchObject({ data: { 'tls.crt': Buffer.from('PEM').toString('base64') } });
    expect(res.body).not.toHaveProperty('stringData');
    const byType = await call(
      api,
      'GET',
      `/api/v1/secrets?fieldSelector=${encodeURIComponent('type=kubernetes.io/tls')}`,
    );
    expect((byType.body.items as unknown[]).length).toBe(1);
  });
});

describe('custom resource schemas', () => {
  it('drops spec.osImageStream under the Default feature set CRD, with a warning; Strict makes it a 400', async () => {
    const defaultSet = await startKubeApi({
      crds: [upstreamText('hypershift-nodepools-Default.crd.yaml')],
      namespaces: ['clusters'],
    });
    try {
      const pool = {
        ...samplePool('np'),
        spec: { ...(samplePool('np').spec as object), osImageStream: { name: 'rhel-10' } },
      };
      const strict = await call(defaultSet, 'POST', `${NP_PATH}?fieldValidation=Strict`, {
        body: pool,
      });
      expect(strict.body).toMatchObject({
        code: 400,
        reason: 'BadRequest',
        message:
          'NodePool in version "v1beta1" cannot be handled as a NodePool: strict decoding error: unknown field "spec.osImageStream"',
      });
      const created = await call(defaultSet, 'POST', NP_PATH, { body: pool });
      expect(created.code).toBe(201);
      expect(created.warnings).toEqual(['unknown field "spec.osImageStream"']);
      // Warning texts travel as UTF-8 with only " and \ escaped, as the real server sends them.
      const odd = {
        ...samplePool('odd'),
        spec: { ...(samplePool('odd').spec as object), 'ñ→"\\': 1 },
      };
      const oddly = await call(defaultSet, 'POST', NP_PATH, { body: odd });
      expect(oddly.warnings).toEqual(['unknown field "spec.ñ→"\\"']);
      expect(created.body.spec).not.toHaveProperty('osImageStream');
    } finally {
      await defaultSet.close();
    }
  });

  it('rejects a downgrade through CEL, naming the field and the upstream message', async () => {
    const pool = samplePool('cel');
    (pool.spec as Record<string, unknown>).osImageStream = { name: 'rhel-10' };
    const created = (await call(api, 'POST', NP_PATH, { body: pool })).body;
    const downgrade = await call(api, 'PATCH', `${NP_PATH}/cel`, {
      contentType: 'application/merge-patch+json',
      body: { spec: { osImageStream: { name: 'rhel-9' } } },
    });
    expect(downgrade.body).toMatchObject({
      code: 422,
      reason: 'Invalid',
      message:
        'NodePool.hypershift.openshift.io "cel" is invalid: spec.osImageStream: Invalid value: "object": OS stream downgrade from rhel-10 to rhel-9 is not allowed; create a new NodePool instead',
      details: {
        name: 'cel',
        group: 'hypershift.openshift.io',
        kind: 'NodePool',
        causes: [{ field: 'spec.osImageStream', reason: 'FieldValueInvalid' }],
      },
    });
    expect((await call(api, 'GET', `${NP_PATH}/cel`)).body.metadata).toMatchObject({
      resourceVersion: (created.metadata as { resourceVersion: string }).resourceVersion,
    });
  });
});

describe('lists', () => {
  beforeAll(() => {
    for (const [name, team] of [
      ['l1', 'a'],
      ['l2', 'b'],
      ['l3', 'a'],
      ['l4', 'c'],
    ] as const) {
      api.create(configMap(name, { team, list: 'yes' }));
    }
  });

  const names = (body: Record<string, unknown>) =>
    (body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name);

  it('filters by label and field selectors, and rejects unsupported fields', async () => {
    const q = (s: string) => call(api, 'GET', `${CM_PATH}?${s}`);
    expect(names((await q('labelSelector=team%3Da')).body)).toEqual(['l1', 'l3']);
    expect(names((await q('labelSelector=list%3Dyes,team!%3Da')).body)).toEqual(['l2', 'l4']);
    expect(names((await q(`labelSelector=${encodeURIComponent('team in (b,c)')}`)).body)).toEqual([
      'l2',
      'l4',
    ]);
    expect(names((await q('fieldSelector=metadata.name%3Dl3')).body)).toEqual(['l3']);
    const all = await call(
      api,
      'GET',
      '/api/v1/configmaps?fieldSelector=metadata.namespace%3Dclusters&labelSelector=list',
    );
    expect(names(all.body)).toEqual(['l1', 'l2', 'l3', 'l4']);
    expect(
      names((await q(`labelSelector=${encodeURIComponent('list,team notin (a)')}`)).body),
    ).toEqual(['l2', 'l4']);
    expect(names((await q(`labelSelector=${encodeURIComponent('list,!team')}`)).body)).toEqual([]);
    expect((await q(`labelSelector=${encodeURIComponent('bad key!=x')}`)).code).toBe(400);
    expect((await q('fieldSelector=data.x%3Dy')).body).toMatchObject({
      code: 400,
      message: 'field label not supported: data.x',
    });
  });

  it('returns a typed list: kind XList, the RV, items without kind for built-ins', async () => {
    const list = (await call(api, 'GET', `${CM_PATH}?labelSelector=list`)).body;
    expect(list).toMatchObject({
      kind: 'ConfigMapList',
      apiVersion: 'v1',
      metadata: { resourceVersion: api.resourceVersion() },
    });
    expect((list.items as Record<string, unknown>[])[0]).not.toHaveProperty('kind');
    api.create(samplePool('listed'));
    const pools = (await call(api, 'GET', `${NP_PATH}?fieldSelector=metadata.name%3Dlisted`)).body;
    expect(pools).toMatchObject({
      kind: 'NodePoolList',
      items: [{ ...NP, metadata: { name: 'listed' } }],
    });
  });

  it('pages with limit/continue over a consistent snapshot; an expired continue is 410', async () => {
    const first = (await call(api, 'GET', `${CM_PATH}?labelSelector=list&limit=2`)).body;
    expect(names(first)).toEqual(['l1', 'l2']);
    const meta = first.metadata as {
      continue: string;
      remainingItemCount: number;
      resourceVersion: string;
    };
    expect(meta.remainingItemCount).toBe(2);
    // Changes after the first page do not show in the later pages.
    api.remove({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'clusters', name: 'l3' });
    api.create(configMap('l5', { list: 'yes' }));
    const second = (
      await call(api, 'GET', `${CM_PATH}?labelSelector=list&limit=2&continue=${meta.continue}`)
    ).body;
    expect(names(second)).toEqual(['l3', 'l4']);
    expect(second.metadata).toMatchObject({ resourceVersion: meta.resourceVersion });
    expect(second.metadata).not.toHaveProperty('continue');
    api.compact();
    const expired = await call(
      api,
      'GET',
      `${CM_PATH}?labelSelector=list&limit=2&continue=${meta.continue}`,
    );
    expect(expired.body).toMatchObject({ code: 410, reason: 'Expired' });
    expect(names((await call(api, 'GET', `${CM_PATH}?labelSelector=list`)).body)).toEqual([
      'l1',
      'l2',
      'l4',
      'l5',
    ]);
  });
});

describe('watch', () => {
  const types = (events: WatchEvent[]) =>
    events
      .filter((e) => e.type !== 'BOOKMARK')
      .map((e) => `${e.type} ${String(e.object.metadata?.name)}`);

  it('without a resourceVersion: ADDED for what exists, then live events, and bookmarks', async () => {
    api.create(configMap('w-existing', { watch: 'a' }));
    const w = await openWatch(
      api,
      `${CM_PATH}?watch=true&labelSelector=watch&allowWatchBookmarks=true`,
    );
    try {
      await waitFor('the synthetic ADDED', () => w.events.length >= 1);
      api.create(configMap('w-new', { watch: 'a' }));
      const cur = api.get({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        namespace: 'clusters',
        name: 'w-new',
      });
      api.update({ ...cur, data: { x: '1' } } as never);
      api.remove({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'clusters', name: 'w-new' });
      await waitFor('four events', () => types(w.events).length >= 4);
      expect(types(w.events)).toEqual([
        'ADDED w-existing',
        'ADDED w-new',
        'MODIFIED w-new',
        'DELETED w-new',
      ]);
      const bookmark = await waitFor('a bookmark', () =>
        w.events.find((e) => e.type === 'BOOKMARK'),
      );
      expect(bookmark.object).toEqual({
        kind: 'ConfigMap',
        apiVersion: 'v1',
        metadata: { resourceVersion: expect.stringMatching(/^\d+$/) },
      });
      const events = w.events.filter((e) => e.type !== 'BOOKMARK');
      expect(
        events.every((e) => e.object.kind === 'ConfigMap' && e.object.apiVersion === 'v1'),
      ).toBe(true);
      const deleted = events[3]?.object.metadata?.resourceVersion;
      expect(Number(deleted)).toBeGreaterThan(Number(events[2]?.object.metadata?.resourceVersion));
    } finally {
      await w.close();
    }
  });

  it('with resourceVersion "0": ADDED for the current state, then only later changes', async () => {
    api.create(configMap('zero', { zero: 'yes' }));
    const w = await openWatch(api, `${CM_PATH}?watch=true&resourceVersion=0&labelSelector=zero`);
    try {
      await waitFor('the synthetic ADDED', () => w.events.length >= 1);
      api.remove({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'clusters', name: 'zero' });
      await waitFor('the DELETED', () => w.events.length >= 2);
      expect(types(w.events)).toEqual(['ADDED zero', 'DELETED zero']);
    } finally {
      await w.close();
    }
  });

  it('from a resourceVersion: replays the history after it; label changes become ADDED/DELETED', async () => {
    const from = api.resourceVersion();
    api.create(configMap('r1', { sel: 'in' }));
    const r1 = api.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'clusters', name: 'r1' });
    api.update({ ...r1, metadata: { ...r1?.metadata, labels: { sel: 'out' } } } as never);
    api.create(configMap('r2', { sel: 'out' }));
    const r2 = api.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'clusters', name: 'r2' });
    api.update({ ...r2, metadata: { ...r2?.metadata, labels: { sel: 'in' } } } as never);
    const w = await openWatch(
      api,
      `${CM_PATH}?watch=1&resourceVersion=${from}&labelSelector=sel%3Din`,
    );
    try {
      await waitFor('three events', () => w.events.length >= 3);
      expect(types(w.events)).toEqual(['ADDED r1', 'DELETED r1', 'ADDED r2']);
    } finally {
      await w.close();
    }
  });

  it('answers a compacted resourceVersion with an ERROR 410 Expired event and ends the stream', async () => {
    const old = api.resourceVersion();
    api.create(configMap('c1'));
    api.compact();
    const w = await openWatch(api, `${NP_PATH}?watch=true&resourceVersion=${old}`);
    await w.ended;
    expect(w.events).toEqual([
      {
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `too old resource version: ${old} (${api.resourceVersion()})`,
          reason: 'Expired',
          code: 410,
        },
      },
    ]);
    // The current RV is still good.
    const ok = await openWatch(
      api,
      `${NP_PATH}?watch=true&resourceVersion=${api.resourceVersion()}&timeoutSeconds=1`,
    );
    await ok.ended;
    expect(ok.events.filter((e) => e.type === 'ERROR')).toEqual([]);
  });

  it('keeps a bounded history: RVs older than the last historySize events get 410, newer ones replay', async () => {
    const small = await startKubeApi({ historySize: 3, namespaces: ['clusters'] });
    try {
      const rvs: string[] = [];
      for (const name of ['h1', 'h2', 'h3', 'h4', 'h5']) {
        rvs.push(String(small.create(configMap(name)).metadata?.resourceVersion));
      }
      const tooOld = await openWatch(small, `${CM_PATH}?watch=true&resourceVersion=${rvs[0]}`);
      await tooOld.ended;
      expect(tooOld.events.map((e) => [e.type, e.object.code])).toEqual([['ERROR', 410]]);
      // The last three events (h3, h4, h5) are kept: from h2's RV they all replay.
      const replay = await openWatch(
        small,
        `${CM_PATH}?watch=true&resourceVersion=${rvs[1]}&timeoutSeconds=1`,
      );
      await replay.ended;
      expect(types(replay.events)).toEqual(['ADDED h3', 'ADDED h4', 'ADDED h5']);
    } finally {
      await small.close();
    }
  });

  it('ends streams on dropWatches and at timeoutSeconds; sendInitialEvents ends with the marker bookmark', async () => {
    const a = await openWatch(api, `${NP_PATH}?watch=true`);
    const b = await openWatch(api, '/api/v1/configmaps?watch=true');
    await waitFor('two open watches', () => api.openWatches() >= 2);
    expect(api.dropWatches()).toBe(2);
    await Promise.all([a.ended, b.ended]);
    const initial = await openWatch(
      api,
      `${NP_PATH}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1`,
    );
    await initial.ended;
    const marker = initial.events.find((e) => e.type === 'BOOKMARK');
    expect(marker?.object.metadata).toMatchObject({
      annotations: { 'k8s.io/initial-events-end': 'true' },
    });
    expect(initial.events.indexOf(marker as WatchEvent)).toBe(
      initial.events.filter((e) => e.type === 'ADDED').length,
    );
  });
});

describe('tables', () => {
  it('answers Accept as=Table with a meta.k8s.io Table of the printer columns and partial metadata', async () => {
    const pool = samplePool('tabled');
    api.create({
      ...pool,
      status: {
        replicas: 1,
        conditions: [
          { type: 'UpdatingVersion', status: 'False' },
          { type: 'AutorepairEnabled', status: 'True' },
        ],
      },
    });
    const accept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';
    const res = await call(api, 'GET', `${NP_PATH}?fieldSelector=metadata.name%3Dtabled`, {
      accept,
    });
    expect(res.contentType).toBe('application/json;as=Table;v=v1;g=meta.k8s.io');
    const names = (res.body.columnDefinitions as { name: string }[]).map((c) => c.name);
    expect(names.slice(0, 4)).toEqual(['Name', 'Cluster', 'Desired Nodes', 'Current Nodes']);
    const row = (
      res.body.rows as { cells: unknown[]; object: { kind: string; metadata: { name: string } } }[]
    )[0];
    const cell = (column: string) => row?.cells[names.indexOf(column)];
    expect([cell('Name'), cell('Cluster'), cell('Desired Nodes'), cell('Current Nodes')]).toEqual([
      'tabled',
      'example',
      0,
      1,
    ]);
    expect([cell('Autorepair'), cell('UpdatingVersion'), cell('Autoscaling')]).toEqual([
      'True',
      'False',
      null,
    ]);
    expect(row?.object).toMatchObject({
      kind: 'PartialObjectMetadata',
      metadata: { name: 'tabled' },
    });
    expect(row?.object).not.toHaveProperty('spec');
  });
});

describe('test controls', () => {
  it('injects failures for matching requests and logs every request', async () => {
    api.failNext(2, {
      status: statusFor(503, 'ServiceUnavailable', 'etcd is down'),
      match: (r) => r.path.endsWith('/configmaps'),
    });
    const first = await call(api, 'GET', CM_PATH);
    expect(first.body).toMatchObject({
      code: 503,
      reason: 'ServiceUnavailable',
      message: 'etcd is down',
    });
    expect((await call(api, 'GET', '/api/v1/namespaces')).code).toBe(200);
    expect((await call(api, 'GET', CM_PATH)).code).toBe(503);
    expect((await call(api, 'GET', CM_PATH)).code).toBe(200);
    const notAllowed = await call(api, 'POST', `${CM_PATH}/x`, { body: configMap('x') });
    expect(notAllowed.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'the server does not allow this method on the requested resource',
      reason: 'MethodNotAllowed',
      details: {},
      code: 405,
    });
    const last = api.requests.at(-1);
    expect(last).toMatchObject({
      method: 'POST',
      path: `${CM_PATH}/x`,
      code: 405,
      contentType: 'application/json',
      accept: 'application/json',
    });
  });

  it('holds a matching request for delayMs, then answers it for real', async () => {
    api.failNext(1, { delayMs: 400, match: (r) => r.path.endsWith('/held-cm') });
    api.create(configMap('held-cm'));
    const order: string[] = [];
    const held = call(api, 'GET', `${CM_PATH}/held-cm`).then((r) => order.push(`held ${r.code}`));
    const quick = call(api, 'GET', '/api/v1/namespaces').then((r) => order.push(`quick ${r.code}`));
    await Promise.all([held, quick]);
    expect(order).toEqual(['quick 200', 'held 200']);
    expect(() => api.failNext(1, {})).toThrow(/status, a delayMs or both/);
  });
});
