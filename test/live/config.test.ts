// Loading the cluster connection: clear errors that say what and where, and never the secrets a
// kubeconfig holds.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kubeConfigFrom, serverOf } from '../../src/kube/config.js';
import { KubeConfigError } from '../../src/kube/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'streamguard-kubeconfig-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const error = (fn: () => unknown): KubeConfigError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof KubeConfigError) return err;
    throw err;
  }
  throw new Error('no error');
};

describe('kubeConfigFrom', () => {
  it('loads a kubeconfig and names its server', () => {
    const path = file(
      'ok',
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443"}}]',
        'users: [{name: u, user: {token: abc}}]',
        'contexts: [{name: x, context: {cluster: c, user: u}}]',
        'current-context: x',
      ].join('\n'),
    );
    expect(serverOf(kubeConfigFrom({ kubeconfig: path }))).toBe('https://127.0.0.1:6443');
  });

  it('says what is wrong with a kubeconfig without quoting it', () => {
    expect(error(() => kubeConfigFrom({ kubeconfig: join(dir, 'missing') })).message).toBe(
      `kubeconfig ${join(dir, 'missing')}: cannot read: no such file`,
    );
    const broken = file('broken', 'users:\n  - name: u\n    user: {token: "s3cret-token"\n');
    const message = error(() => kubeConfigFrom({ kubeconfig: broken })).message;
    expect(message).toMatch(/^kubeconfig .*broken: not a valid kubeconfig/);
    expect(message).not.toContain('s3cret-token');
    const noContext = file('no-context', 'apiVersion: v1\nkind: Config\nclusters: []\n');
    expect(error(() => kubeConfigFrom({ kubeconfig: noContext })).message).toContain(
      'no current-context',
    );
  });

  it('refuses both or neither source, and --in-cluster outside a Pod', () => {
    expect(error(() => kubeConfigFrom({ kubeconfig: 'x', inCluster: true })).message).toContain(
      'not both',
    );
    expect(error(() => kubeConfigFrom({})).message).toContain('--kubeconfig FILE or --in-cluster');
    const saved = process.env.KUBERNETES_SERVICE_HOST;
    delete process.env.KUBERNETES_SERVICE_HOST;
    try {
      expect(error(() => kubeConfigFrom({ inCluster: true })).message).toContain(
        'KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set',
      );
    } finally {
      if (saved !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved;
    }
  });
});
