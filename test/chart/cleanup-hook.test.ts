// The chart's pre-delete hook script, run with node against a loopback HTTPS server standing in
// for the API server (real TLS, the credentials laid out as in a pod).
import { spawn } from 'node:child_process';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selfSignedBundle } from '../../src/tls/self-signed.js';
import { LOOPBACK } from '../support/tls.js';
import { render } from './render.js';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
}

describe('pre-delete cleanup hook', () => {
  const { objects } = render();
  const hooks = objects.filter((o) => o.metadata.annotations?.['helm.sh/hook'] === 'pre-delete');
  const job = hooks.find((o) => o.kind === 'Job');
  const script = (
    hooks.find((o) => o.kind === 'ConfigMap') as { data?: Record<string, string> } | undefined
  )?.data?.['cleanup.cjs'];
  let dir = '';
  const bundle = selfSignedBundle({ sans: [LOOPBACK] });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'streamguard-cleanup-'));
    await writeFile(join(dir, 'ca.crt'), bundle.caPem);
    await writeFile(join(dir, 'token'), 'test-token\n');
    await writeFile(join(dir, 'cleanup.cjs'), script ?? '');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** Runs the script against a server answering each DELETE with the given status. */
  async function run(status: (url: string) => number): Promise<{ code: number; seen: Seen[] }> {
    const seen: Seen[] = [];
    const server = createServer({ cert: bundle.certPem, key: bundle.keyPem }, (req, res) => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        authorization: req.headers.authorization,
      });
      res.writeHead(status(req.url ?? ''), { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
    const { port } = server.address() as AddressInfo;
    const env =
      (
        job?.spec as {
          template: { spec: { containers: { env: { name: string; value: string }[] }[] } };
        }
      ).template.spec.containers[0]?.env ?? [];
    const code = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, [join(dir, 'cleanup.cjs')], {
        env: {
          PATH: process.env.PATH,
          ...Object.fromEntries(env.map((e) => [e.name, e.value])),
          KUBERNETES_SERVICE_HOST: LOOPBACK,
          KUBERNETES_SERVICE_PORT: String(port),
          SERVICE_ACCOUNT_DIR: dir,
        },
        stdio: 'ignore',
      });
      child.on('exit', (c) => resolve(c ?? -1));
    });
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return { code, seen };
  }

  it('is a Job with its ServiceAccount, RBAC and script, all pre-delete hooks', () => {
    expect(hooks.map((o) => o.kind).sort()).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'ConfigMap',
      'Job',
      'ServiceAccount',
    ]);
    // Everything the Job needs exists before it (a lower hook weight).
    const weight = (kind: string) =>
      Number(hooks.find((o) => o.kind === kind)?.metadata.annotations?.['helm.sh/hook-weight']);
    for (const kind of ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'ConfigMap']) {
      expect(weight(kind)).toBeLessThan(weight('Job'));
    }
    const role = hooks.find((o) => o.kind === 'ClusterRole') as unknown as {
      rules: { verbs: string[]; resourceNames?: string[] }[];
    };
    expect(role.rules).toEqual([
      expect.objectContaining({ verbs: ['delete'], resourceNames: ['sg-streamguard'] }),
    ]);
  });

  it('deletes both webhook configurations of the release with the pod token', async () => {
    const { code, seen } = await run(() => 200);
    expect(code).toBe(0);
    expect(seen.map((s) => `${s.method} ${s.url}`).sort()).toEqual([
      'DELETE /apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/sg-streamguard',
      'DELETE /apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/sg-streamguard',
    ]);
    expect(seen.every((s) => s.authorization === 'Bearer test-token')).toBe(true);
  });

  it('treats configurations already gone as done', async () => {
    expect((await run(() => 404)).code).toBe(0);
  });

  it('fails (so the Job retries) when the API server refuses', async () => {
    const { code } = await run((url) => (url.includes('mutating') ? 403 : 200));
    expect(code).toBe(1);
  });
});
