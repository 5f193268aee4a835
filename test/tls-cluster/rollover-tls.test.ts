// A whole CA lifetime in hours instead of years, on a clock the test moves: two replicas share the
// Secret, each serving real TLS through the CertificateReloader, and at every step a TLS client
// that trusts only the caBundle read from the webhook configuration (and one still holding the
// bundle from before the step) connects to both.
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { Lifetimes, Step } from '../../src/tls/cluster/plan.js';
import { secureContextOptions } from '../../src/tls/options.js';
import { CertificateReloader } from '../../src/tls/reloader.js';
import { waitFor } from '../kube-api/support.js';
import type { KubeApi } from '../kube-api/server.js';
import { fetchOnce, startServer, type TestServer } from '../support/tls.js';
import {
  HOST,
  closeReplicas,
  configBundles,
  replica,
  secretData,
  startApi,
  type Replica,
} from './support.js';
import { certificates } from './trust.js';

const HOUR = 3_600_000;
// CA 10 h (rollover with 3 h 20 min left), serving 3 h (renewed with 1 h left). Every certificate
// the simulation puts in force is also valid on the real clock, which real TLS checks.
const LIFETIMES: Lifetimes = { caDays: 10 / 24, servingDays: 3 / 24, renewFraction: 1 / 3 };

interface Serving {
  replica: Replica;
  server: TestServer;
  reloader: CertificateReloader;
}

let api: KubeApi | undefined;
let servings: Serving[] = [];

afterEach(async () => {
  for (const s of servings) {
    s.reloader.stop();
    await s.server.close();
  }
  await closeReplicas(servings.map((s) => s.replica));
  servings = [];
  await api?.close();
  api = undefined;
});

async function serve(r: Replica): Promise<Serving> {
  const server = await startServer({
    ...secureContextOptions({
      certPem: await readFile(r.tls.files.certPath, 'utf8'),
      keyPem: await readFile(r.tls.files.keyPath, 'utf8'),
    }),
  });
  const reloader = new CertificateReloader({
    certPath: r.tls.files.certPath,
    keyPath: r.tls.files.keyPath,
    apply: (pair) => server.server.setSecureContext(secureContextOptions(pair)),
    debounceMs: 10,
    pollMs: 50,
  });
  await reloader.start();
  const s = { replica: r, server, reloader };
  servings.push(s);
  return s;
}

/** Syncs a replica and waits until its server presents the Secret's serving certificate. */
async function syncAndReload(s: Serving): Promise<void> {
  await s.replica.tls.sync();
  const wanted = secretData(api as KubeApi)['tls.crt'];
  await waitFor(
    'the reloader to apply the new pair',
    () => s.reloader.current().certPem === wanted,
  );
}

/** A handshake trusting `bundle` only; resolves to the served certificate's fingerprint. */
async function handshake(s: Serving, bundle: string): Promise<string | undefined> {
  const fetched = await fetchOnce({ port: s.server.port, ca: bundle, servername: HOST });
  expect(fetched.body).toBe('ok');
  return fetched.fingerprint256;
}

describe('CA rollover over real TLS', () => {
  it('keeps every client connected before, during and after a rollover', async () => {
    api = await startApi();
    let now = Date.now() - HOUR;
    const options = { clock: () => now, lifetimes: LIFETIMES, switchDelayMs: HOUR / 2 };
    const [a, b] = await Promise.all([replica(api, options), replica(api, options)]);
    if (!a || !b) throw new Error('two replicas');
    await a.tls.start();
    await b.tls.start();
    const [sa, sb] = [await serve(a), await serve(b)];
    expect(a.tls.published() && b.tls.published()).toBe(true);

    const history: { hour: number; cas: number; issuer: string }[] = [];
    for (let hour = 1; hour <= 12; hour++) {
      now += HOUR;
      const before = configBundles(api, 'Validating')[0] ?? '';
      await syncAndReload(sa); // a writes whatever the hour calls for; b still serves the old pair
      const after = configBundles(api, 'Validating')[0] ?? '';
      expect(configBundles(api, 'Mutating')).toEqual([after, after]);
      for (const s of [sa, sb]) {
        for (const bundle of [before, after]) await handshake(s, bundle);
      }
      await syncAndReload(sb);
      for (const bundle of [before, after]) await handshake(sb, bundle);
      const serving = new X509Certificate(secretData(api)['tls.crt'] ?? '');
      expect(await handshake(sa, after)).toBe(serving.fingerprint256);
      history.push({ hour, cas: certificates(after).length, issuer: serving.issuer });
    }

    const steps = a.logs
      .lines()
      .filter((l) => l.msg === 'TLS Secret written')
      .map((l) => l.steps as Step[]);
    const firstHour = (step: Step) => steps.findIndex((s) => s.includes(step));
    const [rollover, switched, dropped] = (
      ['start-ca-rollover', 'switch-serving', 'drop-expired-ca'] as const
    ).map(firstHour);
    expect(rollover).toBeGreaterThan(0);
    expect(switched).toBeGreaterThan(rollover as number);
    expect(dropped).toBeGreaterThan(switched as number);
    // b never wrote: it found each change already made.
    expect(b.logs.lines().filter((l) => l.msg === 'TLS Secret written')).toEqual([]);
    // One CA, then two during the rollover, then one again, now the other one.
    const cas = history.map((h) => h.cas);
    expect(cas[0]).toBe(1);
    expect(cas).toContain(2);
    expect(cas.at(-1)).toBe(1);
    expect(history.at(-1)?.issuer).not.toBe(history[0]?.issuer);
  });
});
