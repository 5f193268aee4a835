// The real `streamguard serve --tls-secret` processes against the local API server: two replicas
// share one Secret, publish its CA to both webhook configurations, become ready, and answer an
// AdmissionReview to a client that trusts only the caBundle read from the configuration.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { UPSTREAM_CRDS, upstreamText, yamlObjects } from '../kube-api/fixtures.js';
import { startKubeApi, type KubeApi, type KubeObject } from '../kube-api/server.js';
import { runCli, REPO_ROOT } from '../support/cli.js';
import { tempDir } from '../server/support.js';
import { spawnServe } from '../support/serve.js';
import {
  callService,
  CONFIG,
  NAMESPACE,
  SECRET,
  SERVICE,
  configBundles,
  defaultConfigurations,
  secretData,
  secretWrites,
} from './support.js';

// Release images move from quay.io to a loopback port nothing listens on: nothing leaves the host.
const loopback = (text: string) => text.replaceAll('quay.io/', '127.0.0.1:9/');

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

function exampleObjects(): KubeObject[] {
  return ['hostedcluster.yaml', 'nodepools.yaml', 'configmaps.yaml'].flatMap((file) =>
    yamlObjects(
      loopback(readFileSync(join(REPO_ROOT, 'examples/state', file), 'utf8')),
      file,
    ).flatMap((o) => (o.kind === 'List' ? ((o.items ?? []) as KubeObject[]) : [o])),
  );
}

async function startReplica(
  api: KubeApi,
): Promise<{ port: number; child: ChildProcessWithoutNullStreams }> {
  const dir = await tempDir('streamguard-serve-tls-');
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const serve = spawnServe(
    [
      '--kubeconfig',
      api.kubeconfigPath,
      '--tls-secret',
      SECRET,
      '--tls-namespace',
      NAMESPACE,
      '--service',
      SERVICE,
      '--webhook-configuration',
      CONFIG,
    ],
    { certDir: dir, drainSeconds: 0 },
    cleanup,
    'SIGTERM',
  );
  const port = await serve.port(30_000);
  const { child } = serve;
  return { port, child };
}

it('serve --tls-secret: two replicas, one CA, published, ready, answering over verified TLS', async () => {
  const api = await startKubeApi({
    crds: UPSTREAM_CRDS.map(upstreamText),
    namespaces: ['default', 'kube-system', 'clusters', NAMESPACE],
    objects: [...exampleObjects(), ...defaultConfigurations()],
  });
  cleanup.push(() => api.close());

  const replicas = await Promise.all([startReplica(api), startReplica(api)]);
  const data = secretData(api);
  expect(secretWrites(api, 'POST').filter((c) => c === 201)).toHaveLength(1);
  const [validating] = configBundles(api, 'Validating');
  expect(validating).toBe(data['ca.crt']);
  expect(configBundles(api, 'Mutating')).toEqual([validating, validating]);
  const servingFingerprint = new X509Certificate(data['tls.crt'] ?? '').fingerprint256;

  const review = JSON.parse(
    loopback(
      readFileSync(join(REPO_ROOT, 'examples/requests/nodepool-downgrade-inplace.json'), 'utf8'),
    ),
  ) as { request: { uid: string } };
  for (const [i, { port }] of replicas.entries()) {
    await expect
      .poll(async () => (await callService(port, validating ?? '', '/readyz')).status, {
        timeout: 20_000,
        interval: 100,
      })
      .toBe(200);
    review.request.uid = `tls-secret-${i}`;
    const answer = await callService(port, validating ?? '', '/validate', JSON.stringify(review));
    expect(answer.fingerprint).toBe(servingFingerprint);
    const response = (
      JSON.parse(answer.text) as {
        response: { uid: string; allowed: boolean; status?: { message: string } };
      }
    ).response;
    expect(response.uid).toBe(`tls-secret-${i}`);
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toContain('[no-downgrade]');
  }
});

it('serve --tls-secret: usage errors name the flag', async () => {
  const noCluster = await runCli(['serve', '--tls-secret', SECRET, '--service', SERVICE]);
  expect(noCluster.code).toBe(2);
  expect(noCluster.stderr).toContain('--tls-secret needs --kubeconfig or --in-cluster');

  const stray = await runCli(['serve', '--self-signed', '--webhook-configuration', CONFIG]);
  expect(stray.code).toBe(2);
  expect(stray.stderr).toContain('--webhook-configuration applies to --tls-secret only');

  const both = await runCli(['serve', '--self-signed', '--tls-secret', SECRET]);
  expect(both.code).toBe(2);
  expect(both.stderr).toContain('give one of --tls-cert/--tls-key, --self-signed and --tls-secret');
});
