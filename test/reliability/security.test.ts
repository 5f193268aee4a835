// Attack surface the other suites leave open (test/server/tls.test.ts covers TLS 1.1 and weak
// suites, test/server/malformed.test.ts the 7 MiB body limit at its boundary, test/chart/ the pod
// security and RBAC of the rendered chart):
// - TLS 1.0 is refused, with a positive control showing the same client connects to a lax server;
// - oversized request headers get 431 and the server keeps serving;
// - no secret reaches the logs or /metrics: the server wired as `serve --tls-secret` at debug level,
//   against the local API server, with HostedCluster pull secrets that are right, wrong (401s
//   from a registry with htpasswd) and not JSON at all; every line it writes and the /metrics text
//   are searched for the passwords, their base64 `user:password`, the Secrets' base64 and the
//   private keys of the self-managed TLS Secret.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import tls, { type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { kubeConfigFrom } from '../../src/kube/config.js';
import { createLogger } from '../../src/server/logger.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import { clusterTlsSettings } from '../../src/tls/cluster/settings.js';
import { UPSTREAM_CRDS, upstreamText, yamlObjects } from '../kube-api/fixtures.js';
import { startKubeApi, type KubeApi, type KubeObject } from '../kube-api/server.js';
import {
  setupOrFailEach,
  startRegistry,
  type RunningRegistry,
} from '../registry-support/registry.js';
import {
  pushReleasePayloadTo,
  type SyntheticRelease,
} from '../registry-support/release-payload.js';
import {
  LOOPBACK,
  REPO_ROOT,
  startTestServer,
  WebhookClient,
  type RequestOptions,
  type TestServer,
} from '../server/support.js';
import {
  callService,
  CONFIG,
  defaultConfigurations,
  NAMESPACE,
  SECRET,
  SERVICE,
  secretData,
} from '../tls-cluster/support.js';

vi.setConfig({ hookTimeout: 120_000, testTimeout: 90_000 });

// ---------------------------------------------------------------------------------------------
// TLS 1.0

const TLS10: RequestOptions = {
  fresh: true,
  minVersion: 'TLSv1',
  maxVersion: 'TLSv1',
  // OpenSSL 3 offers nothing below TLS 1.2 at its default security level: lower the client's own.
  ciphers: 'DEFAULT@SECLEVEL=0',
};

describe('TLS 1.0', () => {
  let t: TestServer;
  let lax: https.Server;
  let laxClient: WebhookClient;
  const handshakeErrors: string[] = [];
  beforeAll(async () => {
    t = await startTestServer();
    t.running.server.on('tlsClientError', (err) => handshakeErrors.push(err.message));
    const key = t.running.reloader.current();
    lax = https.createServer(
      { cert: key.certPem, key: key.keyPem, minVersion: 'TLSv1', ciphers: 'ALL:@SECLEVEL=0' },
      (_req, res) => res.end('ok'),
    );
    await new Promise<void>((resolve) => lax.listen(0, LOOPBACK, resolve));
    laxClient = new WebhookClient((lax.address() as AddressInfo).port, t.ca);
  });
  afterAll(async () => {
    laxClient?.close();
    lax?.closeAllConnections();
    if (lax) await new Promise((resolve) => lax.close(resolve));
    await t?.close();
  });

  it('control: a client offering only TLS 1.0 connects to a server that allows it', async () => {
    const reply = await laxClient.get('/', TLS10);
    expect(reply.protocol).toBe('TLSv1');
    expect(reply.body).toBe('ok');
  });

  it('the webhook server refuses that client, says why, and keeps serving', async () => {
    const before = handshakeErrors.length;
    await expect(t.client.get('/healthz', TLS10)).rejects.toThrow();
    await expect.poll(() => handshakeErrors.length).toBe(before + 1);
    expect(handshakeErrors[before]).toMatch(/unsupported protocol/);
    expect((await t.client.get('/healthz', { fresh: true })).status).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------
// Header limits

/** One raw HTTP/1.1 request over TLS; the status line's code, or 0 when the server hung up. */
function rawRequest(port: number, ca: string, head: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = tls.connect(
      { host: LOOPBACK, port, servername: 'localhost', ca },
      () => socket.end(head),
    );
    let text = '';
    socket.setEncoding('utf8').on('data', (d: string) => (text += d));
    socket.on('error', reject);
    socket.on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
    socket.setTimeout(10_000, () => socket.destroy(new Error('timed out')));
  });
}

describe('request headers', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t?.close());

  const get = (headerBytes: number) =>
    `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Filler: ${'a'.repeat(headerBytes)}\r\nConnection: close\r\n\r\n`;

  it('takes headers well inside the 16 KiB limit', async () => {
    expect(await rawRequest(t.running.port, t.ca, get(8 * 1024))).toBe(200);
  });

  it.each([17 * 1024, 64 * 1024, 1024 * 1024])(
    'answers 431 to %i bytes of headers and keeps serving',
    async (bytes) => {
      expect(await rawRequest(t.running.port, t.ca, get(bytes))).toBe(431);
      expect((await t.client.get('/healthz', { fresh: true })).status).toBe(200);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Secrets in logs and metrics

const USER = 'puller';
// Unique markers: nothing else in the process's output can contain them by accident.
const GOOD = `good-${Math.random().toString(36).slice(2)}-pw`;
const WRONG = `wrong-${Math.random().toString(36).slice(2)}-pw`;
const NOT_JSON = `notjson-${Math.random().toString(36).slice(2)}-pw`;

let work: string;
let registry: RunningRegistry;
let payload: SyntheticRelease;
let api: KubeApi;
let running: RunningServer | undefined;
let output = '';

const dockerConfig = (password: string) =>
  JSON.stringify({
    auths: { [registry.host]: { auth: Buffer.from(`${USER}:${password}`).toString('base64') } },
  });

function pullSecret(name: string, config: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/dockerconfigjson',
    metadata: { name, namespace: 'clusters' },
    data: { '.dockerconfigjson': Buffer.from(config).toString('base64') },
  };
}

/**
 * A release pullspec per cluster: the live catalog fetches a release once, with the pull secret of
 * one HostedCluster using it, so clusters sharing a release would share one fetch.
 */
function releaseOf(cluster: string): string {
  if (cluster === 'good') return payload.release.pullspec;
  if (cluster === 'wrong') return payload.split.pullspec;
  // A tag nothing was pushed to: the fetch fails (401, no credentials) before it is resolved.
  return `${payload.release.pullspec.replace(/:[^:/]+$/, '')}:5.0.0-ec.2-not-pushed`;
}

/** The example HostedCluster under another name, with its own pull secret and our release. */
function hostedCluster(name: string, secret: string): KubeObject {
  const image = releaseOf(name);
  const text = readFileSync(join(REPO_ROOT, 'examples/state/hostedcluster.yaml'), 'utf8');
  const [hc] = yamlObjects(text, 'hostedcluster.yaml') as (KubeObject & {
    spec: Record<string, unknown>;
  })[];
  if (!hc) throw new Error('no HostedCluster in examples/state/hostedcluster.yaml');
  const copy = structuredClone(hc);
  copy.metadata = { ...copy.metadata, name };
  copy.spec.release = { image };
  copy.spec.pullSecret = { name: secret };
  return copy;
}

function review(uid: string, cluster: string): string {
  const text = readFileSync(join(REPO_ROOT, 'examples/requests/nodepool-create.json'), 'utf8');
  const body = JSON.parse(text) as {
    request: {
      uid: string;
      object: { metadata: { name: string }; spec: { clusterName: string; release: object } };
    };
  };
  body.request.uid = uid;
  body.request.object.metadata.name = `pool-${cluster}`;
  body.request.object.spec.clusterName = cluster;
  body.request.object.spec.release = { image: releaseOf(cluster) };
  return JSON.stringify(body);
}

const rulesOf = (text: string) =>
  (JSON.parse(text) as { response: { auditAnnotations?: { rules?: string } } }).response
    .auditAnnotations?.rules ?? '';

describe('secrets never reach the logs or /metrics', () => {
  let metrics = '';
  let tlsSecret: Record<string, string> = {};

  setupOrFailEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'sg-reliability-secrets-'));
    registry = await startRegistry({ htpasswd: { [USER]: GOOD } });
    const authfile = join(work, 'auth.json');
    await writeFile(authfile, dockerConfig(GOOD));
    payload = await pushReleasePayloadTo(registry.host, { authfile });
    api = await startKubeApi({
      crds: UPSTREAM_CRDS.map(upstreamText),
      namespaces: ['default', 'kube-system', 'clusters', NAMESPACE],
      objects: [
        hostedCluster('good', 'good-pull-secret'),
        hostedCluster('wrong', 'wrong-pull-secret'),
        hostedCluster('broken', 'broken-pull-secret'),
        pullSecret('good-pull-secret', dockerConfig(GOOD)),
        pullSecret('wrong-pull-secret', dockerConfig(WRONG)),
        // Not JSON, but carrying a password: an error about it must not quote it.
        pullSecret('broken-pull-secret', `{"auths": {"${registry.host}": ${NOT_JSON}`),
        ...defaultConfigurations(),
      ],
    });
    // The wiring of `serve --kubeconfig … --tls-secret … --log-level debug`, in-process so the
    // registry on loopback can be plain HTTP and every line the logger writes is kept.
    const sink = new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        output += chunk.toString();
        done();
      },
    });
    const kc = kubeConfigFrom({ kubeconfig: api.kubeconfigPath });
    running = await startServer({
      host: LOOPBACK,
      port: 0,
      cluster: { kc, registry: { insecureRegistries: [registry.host], retry: { attempts: 2 } } },
      tls: {
        cluster: {
          ...clusterTlsSettings({
            secretName: SECRET,
            namespace: NAMESPACE,
            service: SERVICE,
            sans: [],
            webhookConfigurations: [CONFIG],
          }),
          kubeConfig: kc,
          dir: join(work, 'certs'),
        },
      },
      deadlineMs: 2000,
      drainMs: 0,
      logger: createLogger('debug', sink),
    });
    const port = running.port;
    tlsSecret = secretData(api);
    const ca = tlsSecret['ca.crt'] ?? '';
    await vi.waitFor(
      async () => {
        if ((await callService(port, ca, '/readyz')).status !== 200) throw new Error('not ready');
      },
      { timeout: 30_000, interval: 100 },
    );

    // The good secret fetches the release (its decisions stop naming the embedded catalog);
    // the wrong one is refused by the registry and the broken one cannot be read.
    await vi.waitFor(
      async () => {
        const r = await callService(port, ca, '/validate', review(`good-${Date.now()}`, 'good'));
        if (rulesOf(r.text).includes('catalog')) throw new Error('release not fetched yet');
      },
      { timeout: 30_000, interval: 200 },
    );
    await vi.waitFor(
      async () => {
        for (const cluster of ['wrong', 'broken']) {
          await callService(port, ca, '/validate', review(`${cluster}-${Date.now()}`, cluster));
        }
        if (!/release data not fetched/.test(output)) throw new Error('no failed fetch yet');
        if (!/broken-pull-secret/.test(output)) throw new Error('broken secret not reported yet');
      },
      { timeout: 30_000, interval: 200 },
    );
    // Malformed and unauthorised-looking traffic, for the error paths.
    await callService(port, ca, '/validate', '{"apiVersion":');
    await callService(port, ca, '/mutate', review('mutate-wrong', 'wrong'));
    metrics = (await callService(port, ca, '/metrics')).text;

    await running.drain();
  });

  afterAll(async () => {
    if (running?.ready()) await running.drain();
    await api?.close();
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const secrets = (): [string, string][] => {
    const list: [string, string][] = [];
    for (const [what, password] of [
      ['good', GOOD],
      ['wrong', WRONG],
    ] as const) {
      list.push([`${what} password`, password]);
      list.push([
        `${what} base64 user:password`,
        Buffer.from(`${USER}:${password}`).toString('base64'),
      ]);
      list.push([`${what} Secret data`, Buffer.from(dockerConfig(password)).toString('base64')]);
    }
    list.push(['password in a Secret that is not JSON', NOT_JSON]);
    for (const [key, value] of Object.entries(tlsSecret)) {
      if (!/PRIVATE KEY/.test(value)) continue;
      // Each line of the key's base64 body, and the whole PEM.
      list.push([`${key} (PEM)`, value.trim()]);
      for (const line of value.split('\n')) {
        if (line.length >= 40 && !line.startsWith('-----')) list.push([`a line of ${key}`, line]);
      }
    }
    return list;
  };

  it('the run did what it had to (so the search below means something)', () => {
    expect(output).toMatch(/"level":20/); // debug lines were written
    expect(output).toMatch(/release data not fetched/);
    expect(output).toMatch(/broken-pull-secret is not valid JSON/);
    expect(output).toMatch(
      /HTTP 401, UNAUTHORIZED\); credentials from the pull secret Secret clusters\/wrong-pull-secret/,
    );
    expect(metrics).toMatch(/^streamguard_admission_requests_total\{/m);
    const keys = Object.entries(tlsSecret).filter(([, v]) => /PRIVATE KEY/.test(v));
    expect(keys.length).toBeGreaterThanOrEqual(1);
    expect(secrets().length).toBeGreaterThan(8);
    console.log(
      `security: serve wrote ${output.split('\n').length} lines (${output.length} bytes), /metrics ${metrics.length} bytes; searched for ${secrets().length} secret strings (${keys.map(([k]) => k).join(', ')} among them)`,
    );
  });

  it('no password, credential, Secret payload or private key in any log line', () => {
    for (const [what, secret] of secrets()) expect(output, what).not.toContain(secret);
  });

  it('none in the /metrics text either', () => {
    for (const [what, secret] of secrets()) expect(metrics, what).not.toContain(secret);
  });
});
