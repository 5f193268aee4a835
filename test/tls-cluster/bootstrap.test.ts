import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { KubeError } from '../../src/kube/errors.js';
import { statusFor, type KubeApi, type KubeObject } from '../kube-api/server.js';
import {
  HOST,
  NAMESPACE,
  SECRET,
  closeReplicas,
  configBundles,
  replica,
  secretData,
  secretWrites,
  startApi,
  storedSecret,
  webhookConfiguration,
  type Replica,
} from './support.js';
import { DAY, bundleTrusts, certificates } from './trust.js';

let api: KubeApi | undefined;
let replicas: Replica[] = [];

afterEach(async () => {
  await closeReplicas(replicas);
  replicas = [];
  await api?.close();
  api = undefined;
});

async function replicasOf(n: number, options: Parameters<typeof replica>[1] = {}) {
  const made = await Promise.all(Array.from({ length: n }, () => replica(api as KubeApi, options)));
  replicas.push(...made);
  return made;
}

describe('self-managed TLS against the API server', () => {
  it('five replicas starting at once converge on one CA and one Secret', async () => {
    api = await startApi();
    const five = await replicasOf(5);
    await Promise.all(five.map((r) => r.tls.start()));

    const data = secretData(api);
    expect(storedSecret(api)?.type).toBe('kubernetes.io/tls');
    expect(certificates(data['ca.crt'] ?? '')).toHaveLength(1);
    // Exactly one create won; every other POST lost with 409 AlreadyExists; nobody replaced.
    const posts = secretWrites(api, 'POST');
    expect(posts.filter((c) => c === 201)).toHaveLength(1);
    expect(posts.filter((c) => c !== 201).every((c) => c === 409)).toBe(true);
    expect(secretWrites(api, 'PUT')).toEqual([]);
    for (const r of five) {
      expect(await readFile(r.tls.files.caPath, 'utf8')).toBe(data['ca.crt']);
      expect(await readFile(r.tls.files.certPath, 'utf8')).toBe(data['tls.crt']);
      expect(await readFile(r.tls.files.keyPath, 'utf8')).toBe(data['tls.key']);
      expect(r.tls.published()).toBe(true);
    }
    // Both configurations, every webhook, carry the Secret's bundle.
    for (const kind of ['Validating', 'Mutating'] as const) {
      expect(configBundles(api, kind)).toEqual([data['ca.crt'], data['ca.crt']]);
    }
    expect(bundleTrusts(data['ca.crt'] ?? '', data['tls.crt'] ?? '', Date.now(), HOST)).toBe(true);
  });

  it('five replicas renewing at once: one PUT wins, the others re-read and keep its result', async () => {
    api = await startApi();
    let now = Date.now();
    const [first] = await replicasOf(1, { clock: () => now });
    await first?.tls.start();
    now += 1200 * DAY; // serving renewed on the way
    await first?.tls.sync();
    const before = secretData(api);
    const mark = api.requests.length;
    // Past the CA's rollover point (a third of 5 years left).
    const later = now + 100 * DAY;
    const five = await replicasOf(5, { clock: () => later });
    await Promise.all(five.map((r) => r.tls.sync()));

    const after = secretData(api);
    const cas = certificates(after['ca.crt'] ?? '');
    expect(cas.map((c) => c.fingerprint256)[0]).toBe(
      certificates(before['ca.crt'] ?? '')[0]?.fingerprint256,
    );
    expect(cas).toHaveLength(2); // one new CA, not five
    const puts = secretWrites(api, 'PUT', mark);
    expect(puts.filter((c) => c === 200)).toHaveLength(1);
    expect(puts.filter((c) => c !== 200).every((c) => c === 409)).toBe(true);
    for (const r of five) expect(await readFile(r.tls.files.caPath, 'utf8')).toBe(after['ca.crt']);
    expect(configBundles(api, 'Validating')).toEqual([after['ca.crt'], after['ca.crt']]);
    // Serving stays with the old CA until the new bundle has been out for the switch delay.
    expect(after['tls.crt']).toBe(before['tls.crt']);
  });

  it('repairs a garbled Secret and says which parts it ignored', async () => {
    api = await startApi();
    const garbage = (s: string) => Buffer.from(s).toString('base64');
    const damaged: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: SECRET, namespace: NAMESPACE, labels: { keep: 'me' } },
      type: 'kubernetes.io/tls',
      data: {
        'tls.crt': garbage(
          '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n',
        ),
        'tls.key': garbage('nothing'),
        'ca.crt': garbage(''),
        other: garbage('kept'),
      },
    };
    api.create(damaged);
    const [r] = await replicasOf(1);
    await r?.tls.start();
    const data = secretData(api);
    expect(bundleTrusts(data['ca.crt'] ?? '', data['tls.crt'] ?? '', Date.now(), HOST)).toBe(true);
    expect(data.other).toBe('kept');
    expect((storedSecret(api)?.metadata as { labels?: object }).labels).toEqual({ keep: 'me' });
    expect(secretWrites(api, 'PUT')).toEqual([200]);
    const warning = r?.logs.lines().find((l) => l.msg === 'TLS Secret: parts ignored');
    expect(warning?.findings).toEqual([
      'ca.crt: no PEM certificate; ignored',
      'tls.crt: no parsable PEM certificate; ignored',
    ]);
    expect(r?.logs.text()).not.toContain('PRIVATE KEY');
  });

  it('waits for a missing configuration without failing, and is ready once it exists', async () => {
    api = await startApi([webhookConfiguration('Mutating')]);
    const [r] = await replicasOf(1, { webhookConfigurations: ['absent'] });
    await r?.tls.start();
    expect(r?.tls.published()).toBe(false);
    expect(
      r?.logs.lines().some((l) => l.msg === 'webhook configuration not found; will retry'),
    ).toBe(true);
    expect(storedSecret(api)).toBeDefined();

    api.create({ ...webhookConfiguration('Validating'), metadata: { name: 'absent' } });
    await r?.tls.sync();
    expect(r?.tls.published()).toBe(true);
    expect(configBundles(api, 'Mutating')).toEqual(['', '']); // another name: untouched
  });

  it('leaves a configuration whose caBundle another component injects alone', async () => {
    const owned = { 'cert-manager.io/inject-ca-from': `${NAMESPACE}/streamguard` };
    api = await startApi([
      webhookConfiguration('Validating', owned),
      webhookConfiguration('Mutating'),
    ]);
    const [r] = await replicasOf(1);
    await r?.tls.start();
    expect(configBundles(api, 'Validating')).toEqual(['', '']);
    expect(configBundles(api, 'Mutating')[0]).toBe(secretData(api)['ca.crt']);
    expect(r?.logs.lines().some((l) => l.annotation === 'cert-manager.io/inject-ca-from')).toBe(
      true,
    );
  });

  it('retries through throttling and server errors, and stops on a refusal', async () => {
    api = await startApi();
    const secretRequest = (r: { path: string }) => r.path.includes('/secrets');
    api.failNext(2, { status: statusFor(503), match: secretRequest });
    api.failNext(1, { status: statusFor(429, 'TooManyRequests'), match: secretRequest });
    const [r] = await replicasOf(1);
    await r?.tls.start();
    expect(secretData(api)['tls.crt']).toContain('BEGIN CERTIFICATE');

    api.failNext(1, {
      status: statusFor(403, 'Forbidden', 'secrets is forbidden'),
      match: secretRequest,
    });
    const [denied] = await replicasOf(1);
    const error = await denied?.tls.start().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(KubeError);
    expect((error as KubeError).message).toMatch(
      /get secret sg-system\/streamguard-tls: HTTP 403: secrets is forbidden$/,
    );
  });
});
