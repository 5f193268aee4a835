// Faults under load: `streamguard serve` in its own process while clients keep sending the example
// requests (both webhooks) over keep-alive TLS, every answer compared with the engine's own answer
// for that request in the context in force. Zero failed requests in every case:
//   a. the serving certificate rotated every 2 s (a new pair written to the watched files);
//   b. two replicas behind a round-robin proxy that, like a Service, sends new connections only to
//      ready replicas; one is sent SIGTERM and drains; clients reconnect to the other;
//   c. serve --kubeconfig against the local API server: watches dropped (clean and abrupt) and the
//      history compacted (410) again and again while the store changes;
//   d. the policy file replaced by broken ones: refused, the last good one stays.
// FAULTS_SECONDS (default 10) sets how long each fault runs; FAULTS_RATE the request rate.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { kubeConfigFrom } from '../../src/kube/config.js';
import { checkContext } from '../../src/live/check-context.js';
import { admitWith } from '../../src/server/admit.js';
import { loadPolicyFile } from '../../src/policy/file.js';
import {
  createCertificateAuthority,
  issueServingCertificate,
  writeBundle,
} from '../../src/tls/self-signed.js';
import type { KubeApi, KubeObject } from '../kube-api/server.js';
import { exampleReview, exampleState, NODEPOOL, startClusterApi } from '../live/support.js';
import { metric, scrape, WebhookClient } from '../server/support.js';
import {
  engineAnswer,
  exampleBodies,
  LoadClient,
  mixFor,
  ms,
  offlineContext,
  openLoop,
  REPO_ROOT,
  sleep,
  type Figures,
  type MixEntry,
} from './support/load.js';
import { startRoundRobinProxy } from './support/proxy.js';
import { spawnServe } from './support/serve.js';

const SECONDS = Number(process.env.FAULTS_SECONDS ?? 10);
const RATE = Number(process.env.FAULTS_RATE ?? 120);
const TIMEOUT = 60_000 + SECONDS * 4_000;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanups.splice(0).reverse()) await step();
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function print(what: string, f: Figures, extra = ''): void {
  console.log(
    `${what}: ${f.sent} requests, ${f.failed} failed, ${f.opened} new connections, ` +
      `p50 ${ms(f.p50)}, p99 ${ms(f.p99)}, max ${ms(f.max)}${extra ? `, ${extra}` : ''}`,
  );
}

/** Runs `fault` while `client` sends at RATE for SECONDS; returns the figures of the whole run. */
async function underLoad(client: LoadClient, fault: (until: number) => Promise<void>) {
  client.take();
  const until = Date.now() + SECONDS * 1000;
  await Promise.all([openLoop(client, RATE, SECONDS), fault(until)]);
  return client.take();
}

it(
  'a. rotates the certificate every 2 s under load without a failed request',
  async () => {
    const dir = await tempDir('streamguard-faults-tls-');
    // One CA, a new leaf each time (as cert-manager renews), generated before the load starts:
    // RSA key generation blocks this process's event loop.
    const ca = createCertificateAuthority();
    const rotations = Math.max(2, Math.floor(SECONDS / 2));
    const leaves = Array.from({ length: rotations + 1 }, () =>
      issueServingCertificate(ca, { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] }),
    );
    const bundle = (i: number) => ({ caPem: ca.certPem, ...(leaves[i] as (typeof leaves)[0]) });
    const paths = await writeBundle(dir, bundle(0));
    const server = await spawnServe({
      args: ['--state', 'examples/state', '--tls-cert', paths.certPath, '--tls-key', paths.keyPath],
      ca: ca.certPem,
    });
    cleanups.push(() => server.close());
    const mix = mixFor([await offlineContext(`${REPO_ROOT}examples/state`)]);
    const kept = new LoadClient(server.port, ca.certPem, mix, 6);
    // Some clients connect afresh for every request, so new connections meet each new pair.
    const fresh = new LoadClient(server.port, ca.certPem, mix, 2, { fresh: true });
    const probe = new WebhookClient(server.port, ca.certPem);
    cleanups.push(
      () => kept.close(),
      () => fresh.close(),
      () => probe.close(),
    );
    const served = async () => (await probe.get('/healthz', { fresh: true })).fingerprint256;
    const fingerprint = (i: number) => new X509Certificate(leaves[i]?.certPem ?? '').fingerprint256;
    expect(await served()).toBe(fingerprint(0));

    let seen = 0;
    const freshLoad = openLoop(fresh, RATE / 4, SECONDS);
    const figures = await underLoad(kept, async (until) => {
      for (let i = 1; i <= rotations && Date.now() < until; i++) {
        const at = Date.now();
        await writeBundle(dir, bundle(i));
        // Each pair is served to new connections before the next one is written.
        for (let t = 0; t < 200 && (await served()) !== fingerprint(i); t++) await sleep(25);
        if ((await served()) === fingerprint(i)) seen++;
        await sleep(Math.max(0, 2_000 - (Date.now() - at)));
      }
    });
    await freshLoad;
    const freshFigures = fresh.take();
    const reloads = metric(await scrape(probe), 'streamguard_reloads_total', {
      source: 'certificate',
    });
    print('a. certificate rotation (kept-alive)', figures, `${seen} rotations served`);
    print('a. certificate rotation (new connection each)', freshFigures);
    expect([...kept.failures, ...fresh.failures]).toEqual([]);
    expect(figures.failed + freshFigures.failed).toBe(0);
    expect(figures.ok).toBe(Math.floor(RATE * SECONDS));
    expect(freshFigures.ok).toBe(Math.floor((RATE / 4) * SECONDS));
    expect(seen).toBeGreaterThanOrEqual(2);
    expect(reloads).toBe(seen);
  },
  TIMEOUT,
);

it(
  'b. SIGTERM to one of two replicas behind a round-robin proxy: clients move over, none fails',
  async () => {
    const args = ['--state', 'examples/state', '--drain-seconds', '2'];
    const [a, b] = await Promise.all([spawnServe({ args }), spawnServe({ args })]);
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    const proxy = await startRoundRobinProxy([a, b]);
    cleanups.push(() => proxy.close());
    const mix = mixFor([await offlineContext(`${REPO_ROOT}examples/state`)]);
    const client = new LoadClient(proxy.port, [a.ca, b.ca], mix, 6);
    cleanups.push(() => client.close());

    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let atTerm = new Map<number, number>();
    let atNotReady = new Map<number, number>();
    const figures = await underLoad(client, async (until) => {
      await sleep(Math.min(3_000, (until - Date.now()) / 3));
      atTerm = new Map(proxy.connections);
      const exited = a.terminate();
      // Until the proxy's next probe, a new connection may still reach the draining replica
      // (it is answered: the drain lasts 2 s); after that, none may.
      while (proxy.ready.get(a.port)) await sleep(10);
      atNotReady = new Map(proxy.connections);
      exit = await exited;
      // Answers take about a millisecond here, so the connections left to the other replica
      // may carry this rate alone; a burst as wide as the pool needs new ones, as a busier API
      // server would open: through the proxy, they must reach the replica still ready.
      await Promise.all(Array.from({ length: client.connections }, () => client.send()));
    });
    const afterB = (proxy.connections.get(b.port) ?? 0) - (atTerm.get(b.port) ?? 0);
    const afterA = (proxy.connections.get(a.port) ?? 0) - (atNotReady.get(a.port) ?? 0);
    print(
      'b. replica SIGTERM behind the proxy',
      figures,
      `connections before SIGTERM ${JSON.stringify(Object.fromEntries(atTerm))}, ` +
        `after: ${afterA} to the terminated replica (once seen not ready), ${afterB} to the other`,
    );
    expect(client.failures).toEqual([]);
    expect(figures.failed).toBe(0);
    expect(figures.ok).toBe(Math.floor(RATE * SECONDS) + client.connections);
    expect(exit).toEqual({ code: 0, signal: null });
    // Both carried traffic before; the clients' connections to the terminated one were closed
    // by its drain (Connection: close, then its close), and new ones went to the other.
    expect(atTerm.get(a.port)).toBeGreaterThan(0);
    expect(atTerm.get(b.port)).toBeGreaterThan(0);
    expect(afterB).toBeGreaterThan(0);
    expect(afterA).toBe(0);
  },
  TIMEOUT,
);

/**
 * The engine's answers for every request with the cluster as the API server holds it now: as
 * decided, and as decided when a release's data is still being fetched at the deadline (the
 * releases here live on a loopback port nothing listens on, and their fetch is retried now and
 * then; the server then answers on the embedded catalog with a [context] note, by design).
 */
async function liveAnswers(api: KubeApi, bodies: { name: string; text: string }[]) {
  const kc = kubeConfigFrom({ kubeconfig: api.kubeconfigPath });
  const policy = await loadPolicyFile(undefined);
  const answers = new Map<string, { decided: string; late: string }>();
  for (const { name, text } of bodies) {
    const { request } = JSON.parse(text) as { request: { object?: KubeObject } };
    const ctx = await checkContext(kc, request.object ? [request.object] : [], 'clusters');
    try {
      const context = { policy, releases: ctx.releases, cluster: ctx.cluster };
      for (const webhook of ['validate', 'mutate'] as const) {
        const late = admitWith(Buffer.from(text), webhook, context, LATE_RELEASE);
        answers.set(`${webhook} ${name}`, {
          decided: engineAnswer(text, context, webhook),
          late: late.body,
        });
      }
    } finally {
      await ctx.close();
    }
  }
  return answers;
}

/** The server's note when a release fetch outlasts the request deadline (serve's default). */
const LATE_RELEASE = 'release data was still being fetched at the 2000 ms deadline';

it(
  'c. serve --kubeconfig: watches dropped and 410s while the store changes; answers follow the store',
  async () => {
    const objects = [
      ...exampleState('hostedcluster.yaml'),
      ...exampleState('nodepools.yaml'),
      ...exampleState('configmaps.yaml'),
    ];
    const api = await startClusterApi(objects);
    cleanups.push(() => api.close());
    const inplace = objects.find(
      (o) => o.kind === 'NodePool' && o.metadata?.name === 'workers-inplace',
    );
    if (!inplace) throw new Error('examples/state has no NodePool workers-inplace');
    const bodies = exampleBodies().map(({ name }) => ({
      name,
      text: exampleReview(name, `live-${name}`),
    }));
    const server = await spawnServe({ args: ['--kubeconfig', api.kubeconfigPath] });
    cleanups.push(() => server.close());
    const probe = new WebhookClient(server.port, server.ca);
    cleanups.push(() => probe.close());
    for (let t = 0; (await probe.get('/readyz')).status !== 200; t++) {
      if (t > 600) throw new Error('serve --kubeconfig never became ready');
      await sleep(50);
    }

    // The two states the store moves between: with and without the pool that uses the runtime
    // ConfigMap (whose runc edit is denied only while that pool exists).
    const withPool = await liveAnswers(api, bodies);
    api.remove({ ...NODEPOOL, namespace: 'clusters', name: 'workers-inplace' });
    const withoutPool = await liveAnswers(api, bodies);
    api.create(inplace);
    expect(withPool).not.toEqual(withoutPool);
    const labelled = (e: MixEntry, states: Map<string, { decided: string; late: string }>[]) => {
      const labels = new Map<string, string>();
      for (const state of states) {
        const { decided, late } = state.get(e.name) ?? { decided: '', late: '' };
        labels.set(decided, 'decided');
        labels.set(late, 'late release data');
      }
      return { ...e, expected: new Set(labels.keys()), labels };
    };
    const mix: MixEntry[] = mixFor([], bodies).map((e) => labelled(e, [withPool, withoutPool]));
    const client = new LoadClient(server.port, server.ca, mix, 6);
    cleanups.push(() => client.close());

    const faults = { clean: 0, abrupt: 0, compacted: 0, changes: 0 };
    let present = true;
    const figures = await underLoad(client, async (until) => {
      for (let i = 0; Date.now() < until - 1_000; i++) {
        if (present) api.remove({ ...NODEPOOL, namespace: 'clusters', name: 'workers-inplace' });
        else api.create(inplace);
        present = !present;
        faults.changes++;
        if (i % 3 === 0) faults.clean += api.dropWatches() > 0 ? 1 : 0;
        if (i % 3 === 1) faults.abrupt += api.dropWatches({ abrupt: true }) > 0 ? 1 : 0;
        if (i % 3 === 2) {
          api.compact();
          faults.compacted++;
        }
        await sleep(700);
      }
    });

    // Quiescent: once the informers are back, every answer is the engine's for the store now.
    const now = present ? withPool : withoutPool;
    const runc = 'validate configmap-add-runc.json';
    const runcBody = mix.find((e) => e.name === runc)?.body ?? '';
    for (let t = 0; ; t++) {
      const reply = await probe.post('/validate', runcBody);
      if (reply.body === now.get(runc)?.decided) break;
      if (t > 600) throw new Error(`answers never followed the store: ${reply.body}`);
      await sleep(50);
    }
    const settled = new LoadClient(
      server.port,
      server.ca,
      mix.map((e) => labelled(e, [now])),
      4,
    );
    cleanups.push(() => settled.close());
    await openLoop(settled, RATE, 2);
    const quiet = settled.take();
    const samples = await scrape(probe);
    print(
      'c. live context faults',
      figures,
      `${faults.changes} store changes, ${faults.clean} clean and ${faults.abrupt} abrupt ` +
        `watch drops, ${faults.compacted} compactions; cluster rebuilds ` +
        `${metric(samples, 'streamguard_reloads_total', { source: 'cluster' })}, problems ` +
        `${metric(samples, 'streamguard_reload_failures_total', { source: 'cluster' })}`,
    );
    print(
      'c. after the faults, answers for the store now',
      quiet,
      `answers under load ${JSON.stringify(Object.fromEntries(client.answers))}, after ` +
        JSON.stringify(Object.fromEntries(settled.answers)),
    );
    expect([...client.failures, ...settled.failures]).toEqual([]);
    expect(figures.failed + quiet.failed).toBe(0);
    expect(figures.ok).toBe(Math.floor(RATE * SECONDS));
    expect(quiet.ok).toBe(RATE * 2);
    expect(settled.answers.get('decided')).toBeGreaterThan(0);
    expect(faults.abrupt).toBeGreaterThan(0);
    expect(faults.compacted).toBeGreaterThan(0);
  },
  TIMEOUT,
);

it(
  'd. a policy file replaced by broken ones under load: refused, the last good one stays',
  async () => {
    const dir = await tempDir('streamguard-faults-policy-');
    const header = 'apiVersion: streamguard.io/v1alpha1\nkind: StreamPolicy\n';
    const good = `${header}spec:\n  rules:\n    implicit-flip: deny\n    no-downgrade: {inPlace: deny, replace: warn}\n`;
    const broken = [
      `${header}spec:\n  rules: [implicit-flip: warn\n`,
      `${header}spec:\n  rules:\n    implicit-flip: sometimes\n`,
      '',
      'kind: NotAPolicy\n',
    ];
    const policyPath = join(dir, 'policy.yaml');
    await writeFile(policyPath, good);
    const replace = async (text: string) => {
      const tmp = join(dir, `.next-${Date.now()}`);
      await writeFile(tmp, text);
      await rename(tmp, policyPath);
    };
    const server = await spawnServe({
      args: ['--state', 'examples/state', '--policy', policyPath],
    });
    cleanups.push(() => server.close());
    const goodContext = await offlineContext(`${REPO_ROOT}examples/state`, policyPath);
    const builtIn = await offlineContext(`${REPO_ROOT}examples/state`);
    const mix = mixFor([goodContext]);
    // The good policy decides differently from the built-in one, so a fall back would show.
    expect(mix.some((e) => !e.expected.has(engineAnswer(e.body, builtIn, 'validate')))).toBe(true);
    const client = new LoadClient(server.port, server.ca, mix, 6);
    const probe = new WebhookClient(server.port, server.ca);
    cleanups.push(
      () => client.close(),
      () => probe.close(),
    );
    const failures = async () =>
      metric(await scrape(probe), 'streamguard_reload_failures_total', { source: 'policy' }) ?? 0;

    let written = 0;
    const figures = await underLoad(client, async (until) => {
      for (let i = 0; Date.now() < until - 1_000; i++) {
        await replace(broken[i % broken.length] as string);
        written++;
        await sleep(800);
      }
    });
    const refused = await failures();
    print('d. broken policy files', figures, `${written} written, ${refused} refused`);
    expect(client.failures).toEqual([]);
    expect(figures.failed).toBe(0);
    expect(figures.ok).toBe(Math.floor(RATE * SECONDS));
    expect(written).toBeGreaterThanOrEqual(3);
    expect(refused).toBeGreaterThanOrEqual(3);
    expect((await probe.get('/readyz')).status).toBe(200);
  },
  TIMEOUT,
);
