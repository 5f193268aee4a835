// One GET to the API server: what failed and where, for a server that never answers and one that
// answers with a Kubernetes Status.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kubeConfigFrom } from '../../src/kube/config.js';
import { KubeError } from '../../src/kube/errors.js';
import { getJson } from '../../src/kube/request.js';
import { silentRegistry, startClusterApi } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'streamguard-request-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function failure(work: Promise<unknown>): Promise<KubeError> {
  try {
    await work;
  } catch (err) {
    if (err instanceof KubeError) return err;
    throw err;
  }
  throw new Error('no error');
}

describe('getJson', () => {
  it('gives up on a server that accepts and never answers', async () => {
    const silent = await silentRegistry();
    try {
      const path = join(dir, 'silent');
      writeFileSync(
        path,
        [
          'apiVersion: v1',
          'kind: Config',
          `clusters: [{name: c, cluster: {server: "https://${silent.host}"}}]`,
          'users: [{name: u, user: {token: abc}}]',
          'contexts: [{name: x, context: {cluster: c, user: u}}]',
          'current-context: x',
        ].join('\n'),
      );
      const err = await failure(
        getJson(kubeConfigFrom({ kubeconfig: path }), '/api', 'probe', 200),
      );
      expect(err.message).toBe(`cluster https://${silent.host}: probe: no answer in time`);
      expect(err.status).toBeUndefined();
    } finally {
      await silent.close();
    }
  });

  it('reports the Status message and code the server answers', async () => {
    const api = await startClusterApi();
    try {
      const kc = kubeConfigFrom({ kubeconfig: api.kubeconfigPath });
      const err = await failure(
        getJson(kc, '/api/v1/namespaces/clusters/secrets/absent', 'get secret clusters/absent'),
      );
      expect(err.status).toBe(404);
      expect(err.message).toBe(
        `cluster ${api.url}: get secret clusters/absent: HTTP 404: secrets "absent" not found`,
      );
    } finally {
      await api.close();
    }
  });
});
