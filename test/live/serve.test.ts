// `streamguard serve --kubeconfig` end to end over real TLS: not ready until the informers have
// synced, then deciding from the live cluster; the CLI process and the in-process server alike.
import { once } from 'node:events';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { kubeConfigFrom } from '../../src/kube/config.js';
import { statusFor, type KubeApi } from '../kube-api/server.js';
import {
  metric,
  scrape,
  spawnCli,
  startTestServer,
  tempDir,
  WebhookClient,
  type AdmissionResponseJson,
} from '../server/support.js';
import { spawnServe } from '../support/serve.js';
import { exampleReview, exampleState, NODEPOOL, startClusterApi, until } from './support.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function cluster(): Promise<KubeApi> {
  const api = await startClusterApi([
    ...exampleState('hostedcluster.yaml'),
    ...exampleState('nodepools.yaml'),
    ...exampleState('configmaps.yaml'),
  ]);
  cleanups.push(() => api.close());
  return api;
}

const responseOf = (body: string) => (JSON.parse(body) as AdmissionResponseJson).response;

describe('serve --kubeconfig', () => {
  it('is ready only after the caches synced, then decides from the live cluster', async () => {
    const api = await cluster();
    // NodePools cannot be listed for a while: the server listens but is not ready.
    api.failNext(40, {
      status: statusFor(503, 'ServiceUnavailable'),
      match: (r) => r.path.endsWith('/nodepools') && r.query.watch === undefined,
    });
    const server = await startTestServer({
      statePath: undefined,
      cluster: {
        kc: kubeConfigFrom({ kubeconfig: api.kubeconfigPath }),
        backoff: { initialMs: 50, maxMs: 100 },
      },
    });
    cleanups.push(() => server.close());
    const first = await server.client.get('/readyz');
    expect(first.status).toBe(503);
    await until('ready', async () => (await server.client.get('/readyz')).status === 200);

    // The HostedCluster's pull secret is looked for once (it does not exist here): after that,
    // answering admission requests sends nothing to the API server.
    await until('the pull secret looked for', () =>
      api.requests.some(
        (r) => r.path === '/api/v1/namespaces/clusters/secrets/example-pull-secret',
      ),
    );
    const marker = api.requests.length;
    for (let i = 0; i < 20; i++) {
      const reply = await server.client.post(
        '/validate',
        exampleReview('nodepool-create.json', `quiet-${i}`),
      );
      expect(reply.status).toBe(200);
    }
    expect(api.requests.slice(marker)).toEqual([]);

    const downgrade = await server.client.post(
      '/validate',
      exampleReview('nodepool-downgrade-inplace.json', 'live-downgrade'),
    );
    expect(downgrade.status).toBe(200);
    const denied = responseOf(downgrade.body);
    expect(denied).toMatchObject({ uid: 'live-downgrade', allowed: false });
    expect(denied.status?.message).toContain('[no-downgrade]');

    // The cluster changes: the pool using the ConfigMap goes away, so adding runc is allowed.
    const runc = (uid: string) => exampleReview('configmap-add-runc.json', uid);
    expect(responseOf((await server.client.post('/validate', runc('cm-1'))).body).allowed).toBe(
      false,
    );
    api.remove({ ...NODEPOOL, namespace: 'clusters', name: 'workers-inplace' });
    await until(
      'the ConfigMap edit allowed',
      async () => responseOf((await server.client.post('/validate', runc('cm-2'))).body).allowed,
    );

    const samples = await scrape(server.client);
    expect(metric(samples, 'streamguard_reloads_total', { source: 'cluster' })).toBeGreaterThan(0);
    expect(
      metric(samples, 'streamguard_reload_failures_total', { source: 'cluster' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('runs as a CLI process: streamguard serve --kubeconfig over TLS, drains on SIGTERM', async () => {
    const api = await cluster();
    const dir = await tempDir('streamguard-live-serve-');
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const serve = spawnServe(
      ['--kubeconfig', api.kubeconfigPath, '--self-signed'],
      { certDir: dir, drainSeconds: 0 },
      cleanups,
    );
    const { child, exited } = serve;
    const port = await serve.port(30_000);
    const client = new WebhookClient(port, await readFile(join(dir, 'ca.crt'), 'utf8'));
    cleanups.push(() => client.close());
    await until('ready', async () => (await client.get('/readyz')).status === 200);
    const reply = await client.post(
      '/validate',
      exampleReview('nodepool-downgrade-inplace.json', 'cli'),
    );
    expect(responseOf(reply.body)).toMatchObject({ uid: 'cli', allowed: false });

    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
    // Logs name the cluster, never the token of the kubeconfig.
    expect(serve.stdout()).toContain(`"cluster":"${api.url}"`);
    expect(serve.stdout() + serve.stderr()).not.toContain(api.token);
  });

  it('refuses --state with --kubeconfig, and --release-cache-dir without a cluster', async () => {
    const api = await cluster();
    const both = spawnCli([
      'serve',
      '--kubeconfig',
      api.kubeconfigPath,
      '--state',
      'examples/state',
      '--self-signed',
    ]);
    let stderr = '';
    both.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const [code] = (await once(both, 'exit')) as [number | null];
    expect(code).toBe(2);
    expect(stderr).toContain('give at most one of --state, --kubeconfig and --in-cluster');

    const cache = spawnCli(['serve', '--release-cache-dir', 'cache', '--self-signed']);
    let cacheErr = '';
    cache.stderr.setEncoding('utf8').on('data', (d: string) => (cacheErr += d));
    const [cacheCode] = (await once(cache, 'exit')) as [number | null];
    expect(cacheCode).toBe(2);
    expect(cacheErr).toContain('--release-cache-dir needs --kubeconfig or --in-cluster');
  });
});
