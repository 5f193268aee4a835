// Admission through the API server, end to end: the project's own webhook server (on the example
// cluster state) behind the chart's rendered webhook configurations, called by this server on
// writes from the real kubectl. Proves the configurations' rules, namespaceSelector and
// matchConditions route what they should, and that denials and mutations reach kubectl.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plainManifests } from '../../src/cli/manifests.js';
import { REPO_ROOT, startTestServer, type TestServer } from '../server/support.js';
import { UPSTREAM_CRDS, upstreamText, yamlObjects } from './fixtures.js';
import { startKubeApi, type KubeApi, type KubeObject } from './server.js';
import { kubectl } from './support.js';

const NP = { apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'NodePool' };

let webhook: TestServer;
let api: KubeApi;
let dir: string;

/** The example cluster (examples/state): Lists expanded, everything the webhook's state holds. */
function exampleObjects(): KubeObject[] {
  return ['hostedcluster.yaml', 'nodepools.yaml', 'configmaps.yaml'].flatMap((file) =>
    yamlObjects(readFileSync(join(REPO_ROOT, 'examples/state', file), 'utf8'), file).flatMap((o) =>
      o.kind === 'List' ? ((o.items ?? []) as KubeObject[]) : [o],
    ),
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kube-api-admission-'));
  webhook = await startTestServer();
  api = await startKubeApi({
    crds: UPSTREAM_CRDS.map(upstreamText),
    namespaces: ['clusters', 'kube-system', 'streamguard'],
    objects: exampleObjects(),
    admission: { resolveService: (s) => `https://127.0.0.1:${webhook.running.port}${s.path}` },
  });
  // The chart's webhook configurations, with the caBundle their TLS owner would inject.
  const caBundle = Buffer.from(webhook.ca).toString('base64');
  for (const obj of yamlObjects(plainManifests(), 'streamguard manifests')) {
    if (
      obj.kind !== 'ValidatingWebhookConfiguration' &&
      obj.kind !== 'MutatingWebhookConfiguration'
    )
      continue;
    for (const hook of obj.webhooks as { clientConfig: Record<string, unknown> }[])
      hook.clientConfig.caBundle = caBundle;
    api.create(obj);
  }
});

afterAll(async () => {
  await api?.close();
  await webhook?.close();
  await rm(dir, { recursive: true, force: true });
});

const run = (...args: string[]) => kubectl(api, join(dir, 'cache'), args);

async function file(name: string, obj: KubeObject): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, stringify(obj));
  return path;
}

function calls(name: string) {
  return api.admissionCalls.filter((c) => c.name === name);
}

describe('admission webhooks through the API server', () => {
  it('denies pinning an InPlace pool that runs rhel-10 to rhel-9, with the webhook message in kubectl', async () => {
    const pool = api.get({ ...NP, namespace: 'clusters', name: 'workers-inplace' }) as KubeObject;
    const before = pool.metadata?.resourceVersion;
    const { status: _status, ...manifest } = pool;
    const downgrade = {
      ...manifest,
      spec: { ...(pool.spec as object), osImageStream: { name: 'rhel-9' } },
    };
    const res = await run('apply', '-f', await file('downgrade.yaml', downgrade));
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      'admission webhook "nodepools.validate.streamguard.io" denied the request:',
    );
    expect(res.stderr).toContain('OS stream downgrade from rhel-10 to rhel-9 is not allowed');
    expect(
      api.get({ ...NP, namespace: 'clusters', name: 'workers-inplace' })?.metadata?.resourceVersion,
    ).toBe(before);
    expect(calls('workers-inplace').map((c) => `${c.webhook} ${c.operation} ${c.outcome}`)).toEqual(
      [
        'nodepools.mutate.streamguard.io UPDATE allowed',
        'nodepools.validate.streamguard.io UPDATE denied',
      ],
    );
  });

  it('lets the mutating webhook pin the release default on a new pool (examples/gitops/gpu.yaml)', async () => {
    const res = await run('apply', '-f', join(REPO_ROOT, 'examples/gitops/gpu.yaml'));
    expect(res).toMatchObject({
      code: 0,
      stdout: 'nodepool.hypershift.openshift.io/gpu created\n',
    });
    // The webhook's warning reaches kubectl through the API server's Warning header.
    expect(res.stderr).toMatch(/^Warning: \[pin-on-create\] /);
    const stored = api.get({ ...NP, namespace: 'clusters', name: 'gpu' });
    expect(stored?.spec).toMatchObject({ osImageStream: { name: 'rhel-10' } });
    expect(calls('gpu').map((c) => `${c.webhook} ${c.operation} ${c.outcome}`)).toEqual([
      'nodepools.mutate.streamguard.io CREATE allowed',
      'nodepools.validate.streamguard.io CREATE allowed',
    ]);
  });

  it("passes the webhook's warnings to kubectl as they are, non-ASCII included (a release flip)", async () => {
    const res = await run(
      'patch',
      'nodepool',
      'workers-legacy',
      '-n',
      'clusters',
      '--type=merge',
      '-p',
      JSON.stringify({
        spec: { release: { image: 'quay.io/openshift-release-dev/ocp-release:5.0.0-ec.2-x86_64' } },
      }),
    );
    expect(res.stdout).toBe('nodepool.hypershift.openshift.io/workers-legacy patched\n');
    expect(res.stderr).toMatch(/^Warning: \[implicit-flip\] .*rhel-9 → rhel-10/m);
  });

  it('sends ConfigMaps only when they have a config key (matchConditions), and denies adding runc', async () => {
    const plain = await run(
      'create',
      'configmap',
      'unrelated',
      '-n',
      'clusters',
      '--from-literal=a=b',
    );
    expect(plain.code).toBe(0);
    expect(calls('unrelated')).toEqual([]);
    const runc = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'workers-runtime', namespace: 'clusters' },
      data: {
        config: stringify({
          apiVersion: 'machineconfiguration.openshift.io/v1',
          kind: 'ContainerRuntimeConfig',
          metadata: { name: 'workers-runc' },
          spec: { containerRuntimeConfig: { defaultRuntime: 'runc' } },
        }),
      },
    };
    const res = await run('apply', '-f', await file('runc.yaml', runc));
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      'admission webhook "configmaps.validate.streamguard.io" denied the request:',
    );
    expect(res.stderr).toMatch(/runc/);
    expect(calls('workers-runtime').map((c) => `${c.webhook} ${c.outcome}`)).toEqual([
      'configmaps.validate.streamguard.io denied',
    ]);
  });

  it('skips the webhooks for objects in the excluded namespaces (namespaceSelector)', async () => {
    const res = await run(
      'create',
      'configmap',
      'own',
      '-n',
      'streamguard',
      '--from-literal=config=anything',
    );
    expect(res.code).toBe(0);
    expect(calls('own')).toEqual([]);
  });

  it('fails closed when the webhook cannot be reached (failurePolicy Fail)', async () => {
    const gone = await startKubeApi({
      crds: UPSTREAM_CRDS.map(upstreamText),
      namespaces: ['clusters'],
      objects: exampleObjects(),
      // Port 9 on loopback: nothing listens there.
      admission: { resolveService: (s) => `https://127.0.0.1:9${s.path}` },
    });
    try {
      for (const obj of yamlObjects(plainManifests(), 'streamguard manifests')) {
        if (obj.kind === 'ValidatingWebhookConfiguration') gone.create(obj);
      }
      const res = await kubectl(gone, join(dir, 'cache-gone'), [
        'label',
        'nodepool',
        'workers-legacy',
        '-n',
        'clusters',
        'x=y',
      ]);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(
        'Internal error occurred: failed calling webhook "nodepools.validate.streamguard.io"',
      );
      expect(gone.admissionCalls.map((c) => [c.webhook, c.outcome, c.ignored])).toEqual([
        ['nodepools.validate.streamguard.io', 'failed', false],
      ]);
    } finally {
      await gone.close();
    }
  });
});
