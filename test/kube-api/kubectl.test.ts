// The real kubectl (v1.32 client) against the server: discovery, OpenAPI, protobuf bodies,
// client-side apply, watches. If kubectl works unchanged, the protocol is the real one.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE, samplePool, upstreamText, UPSTREAM_CRDS } from './fixtures.js';
import { startKubeApi, type KubeApi, type KubeObject } from './server.js';
import { kubectl, kubectlStream, waitFor } from './support.js';

const NP = { apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'NodePool' };

let api: KubeApi;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kube-api-kubectl-'));
  api = await startKubeApi({ crds: UPSTREAM_CRDS.map(upstreamText), bookmarkIntervalMs: 200 });
});

afterAll(async () => {
  await api.close();
  await rm(dir, { recursive: true, force: true });
});

const run = (...args: string[]) => kubectl(api, join(dir, 'cache'), args);

/** The valid sample NodePool under another name, its spec changed by `edit`. */
function pool(
  name: string,
  edit: (spec: Record<string, unknown>) => void = () => undefined,
): KubeObject {
  const obj = samplePool(name);
  edit(obj.spec as Record<string, unknown>);
  return obj;
}

async function file(name: string, docs: KubeObject[] | string): Promise<string> {
  const path = join(dir, name);
  await writeFile(
    path,
    typeof docs === 'string' ? docs : docs.map((d) => stringify(d)).join('---\n'),
  );
  return path;
}

function json(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('kubectl apply', () => {
  it('applies the upstream sample as is: the CRDs reject its HostedCluster and NodePool, as a real server does', async () => {
    const res = await run('apply', '-f', await file('sample.yaml', upstreamText(SAMPLE)));
    expect(res.stdout).toBe('namespace/clusters created\nsecret/example-pull-secret created\n');
    expect(res.code).toBe(1);
    // The golden file is rendered by the CLI, never applied: its fake values break the CRDs'
    // schema and CEL rules, and its NodePool name has capitals.
    expect(res.stderr).toContain(
      'HostedCluster.hypershift.openshift.io "example" is invalid: [spec.infraID: Invalid value: "string": infraID must consist of lowercase alphanumeric characters',
    );
    for (const error of [
      'spec.issuerURL: Invalid value: "string": issuerURL must be a valid absolute URL',
      'spec.release.image: Invalid value: "": spec.release.image in body should be at least 1 chars long',
      `spec.secretEncryption.kms.aws.activeKey.arn: Invalid value: "string": arn must start with 'arn:'`,
    ]) {
      expect(res.stderr).toContain(error);
    }
    expect(res.stderr).toContain(
      'NodePool.hypershift.openshift.io "example-fakeName" is invalid: metadata.name: Invalid value: "example-fakeName"',
    );
    // kubectl read the OpenAPI v3 document and left field validation to the server.
    const post = api.requests.find(
      (r) => r.method === 'POST' && r.path.endsWith('/hostedclusters'),
    );
    expect(post?.query).toMatchObject({
      fieldManager: 'kubectl-client-side-apply',
      fieldValidation: 'Strict',
    });
    expect(
      api.requests.some((r) => r.path === '/openapi/v3/apis/hypershift.openshift.io/v1beta1'),
    ).toBe(true);
    expect(api.skippedRules()).toEqual([]);
  });

  it('creates a NodePool, then configures it with a merge patch; unchanged stays unchanged', async () => {
    const path = await file('pool.yaml', [pool('workers')]);
    const created = await run('apply', '-f', path);
    expect(created).toMatchObject({
      code: 0,
      stdout: 'nodepool.hypershift.openshift.io/workers created\n',
    });
    const unchanged = await run('apply', '-f', path);
    expect(unchanged.stdout).toBe('nodepool.hypershift.openshift.io/workers unchanged\n');

    const changed = pool('workers', (spec) => {
      spec.replicas = 3;
      spec.osImageStream = { name: 'rhel-10' };
    });
    const configured = await run('apply', '-f', await file('pool.yaml', [changed]));
    expect(configured).toMatchObject({
      code: 0,
      stdout: 'nodepool.hypershift.openshift.io/workers configured\n',
    });
    const patch = api.requests.filter(
      (r) => r.method === 'PATCH' && r.path.endsWith('/nodepools/workers'),
    );
    expect(patch.map((r) => r.contentType)).toEqual(['application/merge-patch+json']);
    const stored = api.get({ ...NP, namespace: 'clusters', name: 'workers' });
    expect(stored?.spec).toMatchObject({ replicas: 3, osImageStream: { name: 'rhel-10' } });
    expect(stored?.metadata).toMatchObject({
      generation: 2,
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': expect.stringContaining('rhel-10'),
      },
    });
  });

  it('cannot client-side apply the HostedCluster CRD: its last-applied annotation passes 256 KiB', async () => {
    const crd = upstreamText('hypershift-hostedclusters-TechPreviewNoUpgrade.crd.yaml');
    const res = await run('apply', '-f', await file('hc-crd.yaml', crd));
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      'metadata.annotations: Too long: may not be more than 262144 bytes',
    );
    // `kubectl create` adds no annotation: it gets past that check and only finds the CRD served.
    const created = await run('create', '-f', join(dir, 'hc-crd.yaml'));
    expect(created.stderr).toContain('AlreadyExists');
  });

  it('applies a built-in with a strategic merge patch computed from its compiled-in type', async () => {
    const vwc = (caBundle: string): KubeObject => ({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'streamguard' },
      webhooks: ['nodepools', 'configmaps'].map((what) => ({
        name: `${what}.streamguard.openshift.io`,
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        clientConfig: {
          service: { name: 'streamguard', namespace: 'streamguard', path: '/validate' },
          caBundle,
        },
      })),
    });
    expect((await run('apply', '-f', await file('vwc.yaml', [vwc('b2xk')]))).code).toBe(0);
    const res = await run('apply', '-f', await file('vwc.yaml', [vwc('bmV3')]));
    expect(res.stdout).toBe(
      'validatingwebhookconfiguration.admissionregistration.k8s.io/streamguard configured\n',
    );
    const patch = api.requests.filter(
      (r) =>
        r.method === 'PATCH' && r.path.endsWith('/validatingwebhookconfigurations/streamguard'),
    );
    expect(patch.map((r) => r.contentType)).toEqual(['application/strategic-merge-patch+json']);
    const stored = api.get({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      name: 'streamguard',
    });
    const webhooks = stored?.webhooks as { name: string; clientConfig: { caBundle: string } }[];
    expect(webhooks.map((w) => [w.name, w.clientConfig.caBundle])).toEqual([
      ['nodepools.streamguard.openshift.io', 'bmV3'],
      ['configmaps.streamguard.openshift.io', 'bmV3'],
    ]);
  });
});

describe('kubectl get, create, delete', () => {
  it('lists NodePools in all namespaces as JSON', async () => {
    api.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } });
    api.create({ ...pool('elsewhere'), metadata: { name: 'elsewhere', namespace: 'other' } });
    const res = await run('get', 'nodepools', '-A', '-o', 'json');
    expect(res.code).toBe(0);
    const items = json(res.stdout).items as KubeObject[];
    const names = items.map((i) => `${String(i.metadata?.namespace)}/${String(i.metadata?.name)}`);
    expect(names).toEqual(expect.arrayContaining(['clusters/workers', 'other/elsewhere']));
    expect(items.every((i) => i.kind === 'NodePool' && i.apiVersion === NP.apiVersion)).toBe(true);
    // By short name, with a label selector.
    api.update({
      ...api.get({ ...NP, namespace: 'other', name: 'elsewhere' }),
      metadata: {
        ...api.get({ ...NP, namespace: 'other', name: 'elsewhere' })?.metadata,
        labels: { tier: 'gpu' },
      },
    } as KubeObject);
    const selected = await run('get', 'np', '-A', '-l', 'tier=gpu', '-o', 'name');
    expect(selected.stdout).toBe('nodepool.hypershift.openshift.io/elsewhere\n');
  });

  it('creates a ConfigMap (a protobuf body) and a Secret, reads and deletes them', async () => {
    const created = await run(
      'create',
      'configmap',
      'runtime',
      '-n',
      'clusters',
      '--from-literal=config=runc',
      '--from-literal=b=2',
    );
    expect(created).toMatchObject({ code: 0, stdout: 'configmap/runtime created\n' });
    const post = api.requests.find(
      (r) => r.method === 'POST' && r.path === '/api/v1/namespaces/clusters/configmaps',
    );
    expect(post?.contentType).toBe('application/vnd.kubernetes.protobuf');
    expect(
      api.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'clusters', name: 'runtime' })
        ?.data,
    ).toEqual({ config: 'runc', b: '2' });
    const secret = await run(
      'create',
      'secret',
      'generic',
      'pull',
      '-n',
      'clusters',
      '--from-literal=.dockerconfigjson={}',
      '--type=kubernetes.io/dockerconfigjson',
    );
    expect(secret.code).toBe(0);
    const stored = api.get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: 'clusters',
      name: 'pull',
    });
    expect(stored).toMatchObject({
      type: 'kubernetes.io/dockerconfigjson',
      data: { '.dockerconfigjson': Buffer.from('{}').toString('base64') },
    });
    const ns = await run('create', 'namespace', 'made-by-kubectl');
    expect(ns).toMatchObject({ code: 0, stdout: 'namespace/made-by-kubectl created\n' });
    const made = api.get({ apiVersion: 'v1', kind: 'Namespace', name: 'made-by-kubectl' });
    expect(made?.metadata?.labels).toEqual({ 'kubernetes.io/metadata.name': 'made-by-kubectl' });

    const got = await run(
      'get',
      'cm',
      'runtime',
      '-n',
      'clusters',
      '-o',
      'jsonpath={.data.config}',
    );
    expect(got.stdout).toBe('runc');
    const deleted = await run('delete', 'configmap', 'runtime', '-n', 'clusters');
    expect(deleted).toMatchObject({ code: 0, stdout: 'configmap "runtime" deleted\n' });
    expect(
      api.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'clusters', name: 'runtime' }),
    ).toBeUndefined();
    const missing = await run('delete', 'configmap', 'runtime', '-n', 'clusters');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      'Error from server (NotFound): configmaps "runtime" not found',
    );
  });

  it('patches and labels a NodePool, and deletes it', async () => {
    api.create(pool('patched'));
    const patched = await run(
      'patch',
      'nodepool',
      'patched',
      '-n',
      'clusters',
      '--type=merge',
      '-p',
      '{"spec":{"osImageStream":{"name":"rhel-10"}}}',
    );
    expect(patched.stdout).toBe('nodepool.hypershift.openshift.io/patched patched\n');
    expect((await run('label', 'np', 'patched', '-n', 'clusters', 'stream=rhel-10')).code).toBe(0);
    const stored = api.get({ ...NP, namespace: 'clusters', name: 'patched' });
    expect(stored).toMatchObject({
      metadata: { labels: { stream: 'rhel-10' }, generation: 2 },
      spec: { osImageStream: { name: 'rhel-10' } },
    });
    const deleted = await run('delete', 'nodepool', 'patched', '-n', 'clusters');
    expect(deleted.stdout).toBe('nodepool.hypershift.openshift.io "patched" deleted\n');
    expect(api.get({ ...NP, namespace: 'clusters', name: 'patched' })).toBeUndefined();
  });

  it('prints tables for people: the CRD printer columns, and the built-in printers', async () => {
    api.create(pool('printed'));
    const pools = await run('get', 'nodepools', '-n', 'clusters', 'printed');
    expect(pools.stdout.split('\n')[0]).toMatch(
      /^NAME +CLUSTER +DESIRED NODES +CURRENT NODES +AUTOSCALING +AUTOREPAIR +VERSION +UPDATINGVERSION +UPDATINGCONFIG +MESSAGE$/,
    );
    expect(pools.stdout.split('\n')[1]).toMatch(/^printed +example +0 +$/);
    const table = api.requests.filter((r) => r.path.endsWith('/nodepools/printed')).at(-1);
    expect(table?.accept).toContain('as=Table');
    api.create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'printed', namespace: 'clusters' },
      data: { a: 'Yg==' },
    });
    const secrets = await run('get', 'secret', 'printed', '-n', 'clusters');
    expect(secrets.stdout).toMatch(/^NAME +TYPE +DATA +AGE\nprinted +Opaque +1 +\d+s\n$/);
    const all = await run('get', 'crd');
    expect(all.stdout).toMatch(/^NAME +CREATED AT\n/);
    expect(all.stdout).toMatch(
      /^nodepools\.hypershift\.openshift\.io +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m,
    );
  });

  it('reads discovery and OpenAPI with --raw, and lists the API resources', async () => {
    const group = json((await run('get', '--raw', '/apis/hypershift.openshift.io/v1beta1')).stdout);
    expect(group).toMatchObject({
      kind: 'APIResourceList',
      groupVersion: 'hypershift.openshift.io/v1beta1',
    });
    const core = json((await run('get', '--raw', '/api/v1')).stdout) as {
      resources: { name: string }[];
    };
    expect(core.resources.map((r) => r.name)).toEqual(
      expect.arrayContaining(['configmaps', 'secrets', 'namespaces']),
    );
    const openapi = json((await run('get', '--raw', '/openapi/v3')).stdout) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining([
        'api/v1',
        'apis/hypershift.openshift.io/v1beta1',
        'apis/config.openshift.io/v1',
      ]),
    );
    const resources = await run('api-resources', '--api-group=config.openshift.io', '-o', 'name');
    expect(resources.stdout.split('\n').filter(Boolean).sort()).toEqual([
      'imagedigestmirrorsets.config.openshift.io',
      'imagetagmirrorsets.config.openshift.io',
    ]);
  });

  it('waits for the CRD to be Established and explains spec.osImageStream from the OpenAPI schema', async () => {
    const established = await run(
      'wait',
      '--for=condition=Established',
      'crd/nodepools.hypershift.openshift.io',
      '--timeout=10s',
    );
    expect(established.stdout).toBe(
      'customresourcedefinition.apiextensions.k8s.io/nodepools.hypershift.openshift.io condition met\n',
    );
    const explain = await run('explain', 'nodepools.spec.osImageStream.name');
    expect(explain.code).toBe(0);
    expect(explain.stdout).toMatch(/FIELD: name <string>/);
    expect(explain.stdout).toContain('ENUM:');
    expect(explain.stdout).toContain('rhel-10');
  });

  it('diffs with a dry-run patch that changes nothing, and reports server-side apply as unavailable', async () => {
    api.create(pool('diffed'));
    const changed = pool('diffed', (spec) => {
      spec.replicas = 9;
    });
    const path = await file('diffed.yaml', [changed]);
    const rvBefore = api.resourceVersion();
    const diff = await run('diff', '-f', path);
    expect(diff.code).toBe(1); // 1: differences found
    expect(diff.stdout).toMatch(/^- {2}replicas: 0$/m);
    expect(diff.stdout).toMatch(/^\+ {2}replicas: 9$/m);
    expect(api.resourceVersion()).toBe(rvBefore);
    expect(api.requests.some((r) => r.method === 'PATCH' && r.query.dryRun === 'All')).toBe(true);
    const ssa = await run('apply', '--server-side', '-f', path);
    expect(ssa.code).toBe(1);
    expect(ssa.stderr).toContain('Server-side apply not available on the server');
  });

  it('reports a wrong token as Unauthorized', async () => {
    const bad = join(dir, 'bad-kubeconfig');
    await writeFile(bad, api.kubeconfig.replace(`token: ${api.token}`, 'token: wrong'));
    const res = await kubectl({ ...api, kubeconfigPath: bad }, join(dir, 'cache-bad'), [
      'get',
      'configmaps',
    ]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/Unauthorized|must be logged in/);
  });
});

describe('kubectl watch', () => {
  it('streams ADDED, MODIFIED and DELETED events while the store changes', async () => {
    const w = kubectlStream(api, join(dir, 'cache'), [
      'get',
      'nodepools',
      '-n',
      'clusters',
      '-w',
      '-o',
      'json',
      '--output-watch-events',
    ]);
    try {
      // The initial list arrives as ADDED events; wait for one to know the watch is running.
      await waitFor('the initial events', () => w.docs.some((d) => d.type === 'ADDED'), 20_000);
      await waitFor('the watch request', () => api.openWatches() > 0);
      api.create(pool('watched'));
      const cur = api.get({ ...NP, namespace: 'clusters', name: 'watched' });
      api.update({ ...cur, spec: { ...(cur?.spec as object), replicas: 7 } } as KubeObject);
      api.remove({ ...NP, namespace: 'clusters', name: 'watched' });
      const mine = () =>
        w.docs
          .filter((d) => (d.object as KubeObject).metadata?.name === 'watched')
          .map((d) => String(d.type));
      await waitFor('three events for the pool', () => mine().length >= 3, 20_000);
      expect(mine()).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
      const modified = w.docs.find(
        (d) => d.type === 'MODIFIED' && (d.object as KubeObject).metadata?.name === 'watched',
      );
      expect((modified?.object as { spec: { replicas: number } }).spec.replicas).toBe(7);
    } finally {
      await w.stop();
    }
    expect(w.stderr()).toBe('');
  });
});

describe('kubectl watch for people', () => {
  it('prints the printer columns once, then a row per change', async () => {
    api.create(pool('eyeballed'));
    const w = kubectlStream(api, join(dir, 'cache'), [
      'get',
      'nodepools',
      '-n',
      'clusters',
      'eyeballed',
      '-w',
    ]);
    try {
      await waitFor('the first row', () => /^eyeballed /m.test(w.stdout()), 20_000);
      await waitFor('the watch request', () => api.openWatches() > 0);
      const cur = api.get({ ...NP, namespace: 'clusters', name: 'eyeballed' });
      api.update({ ...cur, spec: { ...(cur?.spec as object), replicas: 4 } } as KubeObject);
      await waitFor('the second row', () => /^eyeballed +example +4 /m.test(w.stdout()), 20_000);
    } finally {
      await w.stop();
    }
    const lines = w.stdout().split('\n').filter(Boolean);
    expect(lines[0]).toMatch(/^NAME +CLUSTER +DESIRED NODES /);
    expect(lines.filter((l) => l.startsWith('NAME '))).toHaveLength(1);
    expect(lines.slice(1).map((l) => l.split(/ +/).slice(0, 3).join(' '))).toEqual([
      'eyeballed example 0',
      'eyeballed example 4',
    ]);
  });
});

describe('kubectl without aggregated discovery', () => {
  it('falls back to the per-group documents', async () => {
    const plain = await startKubeApi({
      crds: UPSTREAM_CRDS.map(upstreamText),
      aggregatedDiscovery: false,
      namespaces: ['clusters'],
    });
    try {
      plain.create(pool('legacy'));
      const res = await kubectl(plain, join(dir, 'cache-plain'), [
        'get',
        'nodepools',
        '-n',
        'clusters',
        '-o',
        'name',
      ]);
      expect(res).toMatchObject({ code: 0, stdout: 'nodepool.hypershift.openshift.io/legacy\n' });
      const paths = plain.requests.map((r) => r.path);
      expect(paths).toEqual(
        expect.arrayContaining([
          '/api',
          '/apis',
          '/api/v1',
          '/apis/hypershift.openshift.io/v1beta1',
        ]),
      );
    } finally {
      await plain.close();
    }
  });
});
