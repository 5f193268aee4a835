// The webhook server with self-managed TLS is not ready while the API server could not verify it:
// until its CA is in the caBundle of the webhook configurations it was told to keep.
import { afterEach, expect, it } from 'vitest';
import { kubeConfigFrom } from '../../src/kube/config.js';
import type { KubeApi } from '../kube-api/server.js';
import { startTestServer, type TestServer } from '../server/support.js';
import {
  NAMESPACE,
  SANS,
  SECRET,
  configBundles,
  secretData,
  startApi,
  webhookConfiguration,
} from './support.js';

let api: KubeApi | undefined;
let server: TestServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
  await api?.close();
  api = undefined;
});

it('is ready only once the caBundle holds its CA', async () => {
  api = await startApi([]);
  const kubeConfig = kubeConfigFrom({ kubeconfig: api.kubeconfigPath });
  server = await startTestServer({
    tls: {
      cluster: {
        kubeConfig,
        namespace: NAMESPACE,
        secretName: SECRET,
        sans: SANS,
        webhookConfigurations: ['streamguard'],
        recheckMs: 100,
      },
    },
  });
  // The client trusts the bundle the server wrote next to its pair: the Secret's ca.crt.
  expect(server.ca).toBe(secretData(api)['ca.crt']);
  const client = server.client;
  expect((await client.get('/healthz')).status).toBe(200);
  expect((await client.get('/readyz')).status).toBe(503);
  expect(server.running.clusterTls?.published()).toBe(false);

  for (const kind of ['Validating', 'Mutating'] as const) api.create(webhookConfiguration(kind));
  await expect
    .poll(async () => (await client.get('/readyz')).status, { timeout: 15_000, interval: 100 })
    .toBe(200);
  expect(configBundles(api, 'Validating')[0]).toBe(secretData(api)['ca.crt']);
});
