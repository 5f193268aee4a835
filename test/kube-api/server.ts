// A local Kubernetes API server for tests: real TLS on 127.0.0.1, Bearer-token authentication, the
// real list/watch/write protocol over an in-memory store, discovery for kubectl, a kubeconfig, and
// test controls (direct store access, dropped watches, compaction, injected failures, a request
// log). See README.md in this folder.
import { timingSafeEqual, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createCertificateAuthority, issueServingCertificate } from '../../src/tls/self-signed.js';
import { yamlObjects } from './fixtures.js';
import type { AdmissionOptions, AdmissionRecord } from './admission.js';
import type { KubeObject, ObjectInput } from './resources.js';
import { route } from './routes.js';
import { ApiError, asStatus, failure, unauthorized, type Status } from './status.js';
import { Store } from './store.js';
import { WatchHub } from './watch.js';

export type { KubeObject, ObjectInput } from './resources.js';
export type { AdmissionOptions, AdmissionRecord, ServiceRef } from './admission.js';

export interface KubeApiOptions {
  /** CRDs to serve: YAML text (one or more documents) or CRD objects. */
  crds?: (string | ObjectInput | KubeObject)[];
  /** Objects to create at start (after the CRDs and namespaces), e.g. ConfigMaps, NodePools. */
  objects?: (ObjectInput | KubeObject)[];
  /** Namespaces that exist at start. Default: default, kube-system, kube-public. */
  namespaces?: string[];
  /** The Bearer token clients must send. Default: 32 random bytes, hex. */
  token?: string;
  /** Change events kept for watches and paging; older RVs get 410 Expired. Default 10 000. */
  historySize?: number;
  /** How often a watch with allowWatchBookmarks=true gets a BOOKMARK. Default 1000 ms. */
  bookmarkIntervalMs?: number;
  /** Answer aggregated discovery (apidiscovery.k8s.io/v2) when asked. Default true. */
  aggregatedDiscovery?: boolean;
  /**
   * Validate custom resources written through the API against their CRD schema and CEL rules,
   * as the real server does. Default true. Direct store access is never validated.
   */
  validation?: boolean;
  /**
   * Call the admission webhooks registered in the store (Mutating/ValidatingWebhookConfigurations)
   * on API writes, as the real server does. Off unless given; `resolveService` maps a webhook's
   * clientConfig.service to a loopback URL. Webhooks are only ever called on loopback.
   */
  admission?: AdmissionOptions;
  /** Where the kubeconfig is written. Default: a new temporary directory, removed by close(). */
  dir?: string;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  accept: string | undefined;
  userAgent: string | undefined;
  /** The status code answered (set when the answer starts; 200 for watches). */
  code?: number;
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface Fault {
  /** The Status answered instead of the real answer; its code is the HTTP status. */
  status?: Status;
  /** Hold the request this long first (then the Status, or the real answer). */
  delayMs?: number;
  /** Which requests it hits; default every request after authentication. */
  match?: (request: RequestRecord) => boolean;
}

export interface KubeApi {
  /** https://127.0.0.1:PORT */
  url: string;
  port: number;
  token: string;
  caPem: string;
  /** The kubeconfig: certificate-authority-data, the token, one context `kube-api`. */
  kubeconfig: string;
  kubeconfigPath: string;
  /** Every request after authentication succeeded or failed, oldest first. */
  requests: RequestRecord[];
  /** Every admission webhook call (with `admission` on), oldest first. */
  admissionCalls: AdmissionRecord[];
  /** The global resourceVersion (the last write's). */
  resourceVersion(): string;
  /** Store access without HTTP or admission rules (status and missing namespaces allowed). */
  create(obj: ObjectInput | KubeObject): KubeObject;
  /** Replaces the object; a metadata.resourceVersion, if given, must be current. */
  update(obj: ObjectInput | KubeObject): KubeObject;
  remove(ref: ObjectRef): KubeObject;
  get(ref: ObjectRef): KubeObject | undefined;
  list(ref: { apiVersion: string; kind: string; namespace?: string }): KubeObject[];
  /** Ends every open watch: cleanly (as at timeout) or, with abrupt, by resetting the socket. */
  dropWatches(options?: { abrupt?: boolean }): number;
  /** Forgets the change history: any older resourceVersion now gets 410 Expired. */
  compact(): void;
  /** The next `count` requests matching the fault are delayed and/or answered with its Status. */
  failNext(count: number, fault: Fault): void;
  /** Open watch streams. */
  openWatches(): number;
  /** CEL rules that could not be evaluated (skipped rather than failed), with where and why. */
  skippedRules(): string[];
  close(): Promise<void>;
}

const BODY_LIMIT = 16 * 1024 * 1024;

export async function startKubeApi(options: KubeApiOptions = {}): Promise<KubeApi> {
  const token = options.token ?? randomBytes(32).toString('hex');
  if (!/^[\x21-\x7e]+$/.test(token))
    throw new Error('token must be printable ASCII without spaces');
  const bookmarkIntervalMs = options.bookmarkIntervalMs ?? 1000;
  if (!(bookmarkIntervalMs > 0)) throw new Error('bookmarkIntervalMs must be positive');
  const store = new Store(options.historySize ?? 10_000, options.validation ?? true);
  const hub = new WatchHub(store, bookmarkIntervalMs);
  const requests: RequestRecord[] = [];
  const faults: { remaining: number; fault: Fault }[] = [];
  const admissionLog: AdmissionRecord[] = [];

  const direct = { api: false };
  for (const name of options.namespaces ?? ['default', 'kube-system', 'kube-public']) {
    store.create(
      store.registry.byKind('v1', 'Namespace'),
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
      direct,
    );
  }
  const crdType = store.registry.byKind('apiextensions.k8s.io/v1', 'CustomResourceDefinition');
  for (const [i, crd] of (options.crds ?? []).entries()) {
    const docs = typeof crd === 'string' ? parsedOnce(crd, `crds[${i}]`) : [crd as KubeObject];
    for (const doc of docs) store.create(crdType, doc, direct);
  }
  const typeOf = (obj: { apiVersion?: unknown; kind?: unknown }) =>
    store.registry.byKind(String(obj.apiVersion), String(obj.kind));
  for (const obj of options.objects ?? []) store.create(typeOf(obj), obj as KubeObject, direct);

  const { ca, leaf } = certificates();
  const expected = Buffer.from(`Bearer ${token}`);
  let serverAddress = '127.0.0.1:0';

  const context = {
    store,
    hub,
    get serverAddress() {
      return serverAddress;
    },
    aggregatedDiscovery: options.aggregatedDiscovery ?? true,
    ...(options.admission ? { admission: options.admission } : {}),
    admissionLog,
  };
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const record: RequestRecord = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      contentType: req.headers['content-type'],
      accept: req.headers.accept,
      userAgent: req.headers['user-agent'],
    };
    requests.push(record);
    const origWriteHead = res.writeHead.bind(res);
    res.writeHead = ((code: number, ...rest: unknown[]) => {
      record.code = code;
      return (origWriteHead as (c: number, ...r: unknown[]) => ServerResponse)(code, ...rest);
    }) as ServerResponse['writeHead'];
    const auth = Buffer.from(req.headers.authorization ?? '');
    if (auth.length !== expected.length || !timingSafeEqual(auth, expected)) {
      req.resume();
      return sendStatus(res, unauthorized());
    }
    const fault = faults.find((f) => f.remaining > 0 && (f.fault.match?.(record) ?? true));
    if (fault) fault.remaining--;
    const answer = (): void => {
      if (fault?.fault.status) {
        req.resume();
        sendStatus(res, fault.fault.status);
        return;
      }
      readBody(req)
        .then((body) => route(context, req, res, url, body))
        .catch((err: unknown) => {
          if (res.headersSent) res.destroy();
          else sendStatus(res, asStatus(err));
        });
    };
    if (fault?.fault.delayMs) setTimeout(answer, fault.fault.delayMs);
    else answer();
  };

  const server: Server = createServer(
    { cert: leaf.certPem, key: leaf.keyPem, minVersion: 'TLSv1.2' },
    handler,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  serverAddress = `127.0.0.1:${port}`;
  const url = `https://127.0.0.1:${port}`;

  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'kube-api-')));
  const kubeconfig = stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'kube-api',
        cluster: {
          server: url,
          'certificate-authority-data': Buffer.from(ca.certPem).toString('base64'),
        },
      },
    ],
    users: [{ name: 'kube-api', user: { token } }],
    contexts: [
      {
        name: 'kube-api',
        context: { cluster: 'kube-api', user: 'kube-api', namespace: 'default' },
      },
    ],
    'current-context': 'kube-api',
    preferences: {},
  });
  const kubeconfigPath = join(dir, 'kubeconfig');
  await writeFile(kubeconfigPath, kubeconfig, { mode: 0o600 });

  const refType = (ref: { apiVersion: string; kind: string }) =>
    store.registry.byKind(ref.apiVersion, ref.kind);
  const shown = (obj: KubeObject, apiVersion: string): KubeObject => ({ ...obj, apiVersion });
  return {
    url,
    port,
    token,
    caPem: ca.certPem,
    kubeconfig,
    kubeconfigPath,
    requests,
    admissionCalls: admissionLog,
    resourceVersion: () => String(store.resourceVersion),
    create: (obj) =>
      shown(store.create(typeOf(obj), withKind(obj), direct), String(obj.apiVersion)),
    update: (obj) =>
      shown(store.update(typeOf(obj), withKind(obj), direct), String(obj.apiVersion)),
    remove: (ref) =>
      shown(
        store.delete(refType(ref), ref.namespace ?? '', ref.name, direct).object,
        ref.apiVersion,
      ),
    get: (ref) => {
      try {
        return shown(store.get(refType(ref), ref.namespace ?? '', ref.name), ref.apiVersion);
      } catch (err) {
        if (err instanceof ApiError && err.status.code === 404) return undefined;
        throw err;
      }
    },
    list: (ref) => store.list(refType(ref), ref.namespace).map((o) => shown(o, ref.apiVersion)),
    dropWatches: (o) => hub.dropAll(o?.abrupt ?? false),
    compact: () => store.compact(),
    failNext: (count, fault) => {
      if (fault.status === undefined && fault.delayMs === undefined) {
        throw new Error('a fault needs a status, a delayMs or both');
      }
      if (!Number.isInteger(count) || count < 1)
        throw new Error(`failNext count must be a positive integer, got ${count}`);
      faults.push({ remaining: count, fault });
    },
    openWatches: () => hub.count,
    skippedRules: () => [...store.skippedRules],
    close: async () => {
      hub.dropAll(true);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownDir) await rm(dir, { recursive: true, force: true });
    },
  };

  function withKind(obj: ObjectInput): KubeObject {
    if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
      throw new Error('objects need apiVersion and kind');
    }
    return obj as KubeObject;
  }
}

/**
 * One CA and serving certificate (127.0.0.1, localhost) per process: RSA key generation costs
 * hundreds of milliseconds, and servers on different ports can share them. Tokens stay per server.
 */
let shared:
  | { ca: { certPem: string; keyPem: string }; leaf: { certPem: string; keyPem: string } }
  | undefined;
function certificates(): NonNullable<typeof shared> {
  if (shared === undefined) {
    const ca = createCertificateAuthority({ commonName: 'kube-api-test-ca', days: 2 });
    const leaf = issueServingCertificate(ca, {
      dnsNames: ['localhost', 'kubernetes.default.svc'],
      ipAddresses: ['127.0.0.1'],
      days: 1,
    });
    shared = { ca, leaf };
  }
  return shared;
}

/** CRD texts are large (the HostedCluster CRD is 700 KB): parse each text once per process. */
const parsed = new Map<string, KubeObject[]>();
function parsedOnce(text: string, where: string): KubeObject[] {
  let docs = parsed.get(text);
  if (docs === undefined) {
    docs = yamlObjects(text, where);
    parsed.set(text, docs);
  }
  return docs;
}

/** A Status built from a code alone, for failNext: `statusFor(503)`, `statusFor(429, 'TooManyRequests')`. */
export function statusFor(
  code: number,
  reason = 'InternalError',
  message = `injected failure (${code})`,
): Status {
  return failure(code, reason, message);
}

function sendStatus(res: ServerResponse, status: Status): void {
  // As bytes, like every JSON answer: Node then leaves Warning header bytes as they are.
  const bytes = Buffer.from(JSON.stringify(status), 'utf8');
  res.writeHead(status.code, {
    'Content-Type': 'application/json',
    'Content-Length': bytes.length,
  });
  res.end(bytes);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT) {
        reject(
          new ApiError(
            failure(413, 'RequestEntityTooLarge', `the request body exceeds ${BODY_LIMIT} bytes`),
          ),
        );
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
