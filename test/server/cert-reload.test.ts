// The serving certificate is replaced on disk while a client keeps sending: no request fails, new
// connections get the new certificate, and a broken pair is refused while the old one serves on.
import { X509Certificate } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/fsutil/atomic-write.js';
import { selfSignedBundle, writeBundle, type SelfSignedBundle } from '../../src/tls/self-signed.js';
import {
  exampleRequest,
  metric,
  scrape,
  startTestServer,
  tempDir,
  WebhookClient,
  type AdmissionResponseJson,
  type TestServer,
} from './support.js';

const scale = exampleRequest('nodepool-scale.json');
const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

interface Outcome {
  phase: string;
  ok: boolean;
  error?: string;
  reused: boolean;
  fresh: boolean;
  fingerprint256?: string;
}

/**
 * Sends /validate requests back to back from `workers` loops until stopped (or 30 s / 20,000
 * requests at most): mostly over kept-alive connections, every fourth on a new connection.
 */
class TrafficLoop {
  readonly outcomes: Outcome[] = [];
  phase = 'before';
  #stop = false;
  #done: Promise<void>;

  constructor(client: WebhookClient, workers: number) {
    const started = Date.now();
    const loop = async (worker: number) => {
      for (let i = 0; !this.#stop && i < 10_000 && Date.now() - started < 30_000; i++) {
        const fresh = (i + worker) % 4 === 0;
        const phase = this.phase;
        try {
          const reply = await client.post('/validate', scale.text, { fresh });
          const review = JSON.parse(reply.body) as AdmissionResponseJson;
          const ok = reply.status === 200 && review.response.uid === scale.review.request.uid;
          const { reusedSocket: reused, fingerprint256 } = reply;
          this.outcomes.push({ phase, ok, reused, fresh, fingerprint256 });
        } catch (err) {
          this.outcomes.push({ phase, ok: false, error: String(err), reused: false, fresh });
        }
      }
    };
    this.#done = Promise.all(Array.from({ length: workers }, (_, w) => loop(w))).then(() => {});
  }

  count(phase?: string): number {
    return this.outcomes.filter((o) => phase === undefined || o.phase === phase).length;
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#done;
  }
}

let dir: string;
let first: SelfSignedBundle;
let second: SelfSignedBundle;
let third: SelfSignedBundle;
let t: TestServer;
let probe: WebhookClient;

beforeAll(async () => {
  dir = await tempDir('streamguard-certs-');
  // Generated up front: RSA key generation blocks the event loop.
  [first, second, third] = [0, 1, 2].map(() => selfSignedBundle({ sans: [] })) as [
    SelfSignedBundle,
    SelfSignedBundle,
    SelfSignedBundle,
  ];
  const paths = await writeBundle(join(dir, 'tls'), first);
  t = await startTestServer({
    tls: { certPath: paths.certPath, keyPath: paths.keyPath },
    ca: first.caPem,
  });
  // The traffic's clients trust both CAs, as clients do while a CA bundle is rotated.
  probe = new WebhookClient(t.running.port, [first.caPem, second.caPem]);
});
afterAll(async () => {
  probe.close();
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

/** The certificate a brand-new connection is given. */
async function servedFingerprint(): Promise<string | undefined> {
  return (await probe.get('/healthz', { fresh: true })).fingerprint256;
}

async function counters() {
  const samples = await scrape(probe);
  return {
    reloads: metric(samples, 'streamguard_reloads_total', { source: 'certificate' }) ?? 0,
    failures: metric(samples, 'streamguard_reload_failures_total', { source: 'certificate' }) ?? 0,
    expiry: metric(samples, 'streamguard_certificate_expiry_timestamp_seconds'),
  };
}

it('swaps the certificate under traffic without a failed request, and refuses broken pairs', async () => {
  expect(await servedFingerprint()).toBe(fingerprint(first.certPem));
  const start = await counters();
  expect(start.reloads).toBe(0);
  expect(start.expiry).toBe(new Date(new X509Certificate(first.certPem).validTo).getTime() / 1000);

  const client = new WebhookClient(t.running.port, [first.caPem, second.caPem], { maxSockets: 2 });
  const traffic = new TrafficLoop(client, 3);
  try {
    await expect.poll(() => traffic.count('before'), { timeout: 10_000 }).toBeGreaterThan(30);

    // A new pair from a new CA, written the way a Secret update or cert-manager lands it.
    traffic.phase = 'swap';
    await writeBundle(join(dir, 'tls'), second);
    await expect
      .poll(servedFingerprint, { timeout: 10_000, interval: 50 })
      .toBe(fingerprint(second.certPem));
    const swapped = await counters();
    expect(swapped.reloads).toBe(1);
    expect(swapped.expiry).toBe(
      new Date(new X509Certificate(second.certPem).validTo).getTime() / 1000,
    );
    traffic.phase = 'after';
    await expect.poll(() => traffic.count('after'), { timeout: 10_000 }).toBeGreaterThan(30);

    // A certificate whose key is not the one on disk: refused, the second pair keeps serving.
    traffic.phase = 'mismatch';
    await writeFileAtomic(join(dir, 'tls', 'tls.crt'), third.certPem, 0o644);
    await expect
      .poll(async () => (await counters()).failures, { timeout: 10_000, interval: 50 })
      .toBeGreaterThan(swapped.failures);
    expect(await servedFingerprint()).toBe(fingerprint(second.certPem));
    const refused = await counters();
    await expect.poll(() => traffic.count('mismatch'), { timeout: 10_000 }).toBeGreaterThan(30);

    // A truncated certificate file (written in place, not atomically): refused too.
    traffic.phase = 'truncated';
    await writeFile(join(dir, 'tls', 'tls.crt'), second.certPem.slice(0, 300));
    await expect
      .poll(async () => (await counters()).failures, { timeout: 10_000, interval: 50 })
      .toBeGreaterThan(refused.failures);
    await expect.poll(() => traffic.count('truncated'), { timeout: 10_000 }).toBeGreaterThan(30);
    expect(await servedFingerprint()).toBe(fingerprint(second.certPem));

    const end = await counters();
    expect(end.reloads).toBe(1);
    expect(end.expiry).toBe(swapped.expiry);
    expect(t.running.ready()).toBe(true);
  } finally {
    await traffic.stop();
    client.close();
  }

  const failed = traffic.outcomes.filter((o) => !o.ok);
  expect(failed).toEqual([]);
  expect(traffic.count('swap')).toBeGreaterThan(0);
  // Both kinds of connection carried traffic in every phase, and every new connection once the
  // swap was seen got the second certificate, refused pairs or not.
  for (const phase of ['before', 'after', 'mismatch', 'truncated']) {
    const inPhase = traffic.outcomes.filter((o) => o.phase === phase);
    expect(
      inPhase.some((o) => o.fresh),
      phase,
    ).toBe(true);
    expect(
      inPhase.some((o) => o.reused),
      phase,
    ).toBe(true);
    const want = fingerprint((phase === 'before' ? first : second).certPem);
    const seen = new Set(inPhase.filter((o) => o.fresh).map((o) => o.fingerprint256));
    expect([...seen], phase).toEqual([want]);
  }
});

it('keeps the house TLS options after a reload (setSecureContext builds a fresh context)', async () => {
  // Runs after the swap above: the context in force now is the reloaded one.
  expect(await servedFingerprint()).toBe(fingerprint(second.certPem));
  const errors: string[] = [];
  const onError = (err: Error) => errors.push(err.message);
  t.running.server.on('tlsClientError', onError);
  try {
    await expect(
      probe.get('/healthz', {
        fresh: true,
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      }),
    ).rejects.toThrow();
    await expect.poll(() => errors.length).toBe(1);
    await expect(
      probe.get('/healthz', { fresh: true, maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' }),
    ).rejects.toThrow();
    await expect.poll(() => errors.length).toBe(2);
    expect(errors).toEqual([
      expect.stringMatching(/unsupported protocol/),
      expect.stringMatching(/no shared cipher/),
    ]);
    const ok = await probe.get('/healthz', {
      fresh: true,
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-RSA-AES128-GCM-SHA256',
    });
    expect(ok.cipher).toBe('ECDHE-RSA-AES128-GCM-SHA256');
  } finally {
    t.running.server.off('tlsClientError', onError);
  }
});
