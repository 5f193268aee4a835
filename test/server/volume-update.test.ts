// Kubernetes updates a mounted Secret or ConfigMap by writing a new timestamped directory and
// swapping the `..data` symlink to it; the files the server was given are symlinks through
// `..data`, and their own paths never change. The server must notice anyway.
import { X509Certificate } from 'node:crypto';
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { selfSignedBundle, type SelfSignedBundle } from '../../src/tls/self-signed.js';
import {
  EXAMPLE_STATE,
  exampleRequest,
  metric,
  scrape,
  startTestServer,
  tempDir,
  WebhookClient,
  type AdmissionResponseJson,
  type TestServer,
} from './support.js';

/** A volume laid out as the kubelet's atomic writer does it. */
class Volume {
  #generation = 0;
  #current: string | undefined;

  constructor(readonly dir: string) {}

  /** The path the server is given: a symlink through `..data`. */
  path(name: string): string {
    return join(this.dir, name);
  }

  /** Writes a new generation, swaps `..data` to it, then removes the old one. */
  async write(files: Record<string, string>): Promise<void> {
    const generation = `..gen_${this.#generation++}`;
    await mkdir(join(this.dir, generation), { recursive: true });
    for (const [name, text] of Object.entries(files))
      await writeFile(join(this.dir, generation, name), text);
    await symlink(generation, join(this.dir, '..data_tmp'));
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    if (this.#current === undefined) {
      for (const name of Object.keys(files)) await symlink(join('..data', name), this.path(name));
    } else {
      await rm(join(this.dir, this.#current), { recursive: true });
    }
    this.#current = generation;
  }
}

const HEADER = 'apiVersion: streamguard.io/v1alpha1\nkind: StreamPolicy\n';
const flip = exampleRequest('nodepool-release-flip.json');

let dir: string;
let secret: Volume;
let configMap: Volume;
let first: SelfSignedBundle;
let second: SelfSignedBundle;
let t: TestServer;
let probe: WebhookClient;

beforeAll(async () => {
  dir = await tempDir('streamguard-volumes-');
  secret = new Volume(join(dir, 'secret'));
  configMap = new Volume(join(dir, 'config'));
  [first, second] = [0, 1].map(() => selfSignedBundle({ sans: [] })) as [
    SelfSignedBundle,
    SelfSignedBundle,
  ];
  await secret.write({ 'tls.crt': first.certPem, 'tls.key': first.keyPem });
  await configMap.write({ 'policy.yaml': `${HEADER}spec:\n  rules:\n    implicit-flip: warn\n` });
  t = await startTestServer({
    tls: { certPath: secret.path('tls.crt'), keyPath: secret.path('tls.key') },
    policyPath: configMap.path('policy.yaml'),
    statePath: EXAMPLE_STATE,
    ca: first.caPem,
  });
  probe = new WebhookClient(t.running.port, [first.caPem, second.caPem]);
});
afterAll(async () => {
  probe.close();
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

const POLL = { timeout: 15_000, interval: 50 };

it('takes a new certificate from a Secret volume update', async () => {
  const served = async () => (await probe.get('/healthz', { fresh: true })).fingerprint256;
  expect(await served()).toBe(new X509Certificate(first.certPem).fingerprint256);
  await secret.write({ 'tls.crt': second.certPem, 'tls.key': second.keyPem });
  await expect.poll(served, POLL).toBe(new X509Certificate(second.certPem).fingerprint256);
  const samples = await scrape(probe);
  expect(metric(samples, 'streamguard_reloads_total', { source: 'certificate' })).toBe(1);
  // The swap is atomic: the reloader never saw a half-updated pair.
  expect(metric(samples, 'streamguard_reload_failures_total', { source: 'certificate' }) ?? 0).toBe(
    0,
  );
});

it('takes a new policy from a ConfigMap volume update, twice', async () => {
  const allowed = async () => {
    const reply = await probe.post('/validate', flip.text);
    return (JSON.parse(reply.body) as AdmissionResponseJson).response.allowed;
  };
  expect(await allowed()).toBe(true);
  await configMap.write({ 'policy.yaml': `${HEADER}spec:\n  rules:\n    implicit-flip: deny\n` });
  await expect.poll(allowed, POLL).toBe(false);
  // The first update may have left a watch on a file that is gone: the second must be seen too.
  await configMap.write({ 'policy.yaml': `${HEADER}spec:\n  rules:\n    implicit-flip: warn\n` });
  await expect.poll(allowed, POLL).toBe(true);
});
