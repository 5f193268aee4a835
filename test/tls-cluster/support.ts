// Helpers for the self-managed TLS tests: the local API server with the webhook configurations
// a release installs, replicas of the TLS controller pointed at it, and readers of what they wrote.
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { kubeConfigFrom } from '../../src/kube/config.js';
import { ClusterTls, type ClusterTlsOptions } from '../../src/tls/cluster/controller.js';
import { normalizeSans, serviceSans } from '../../src/tls/cluster/sans.js';
import { startKubeApi, type KubeApi, type KubeObject } from '../kube-api/server.js';
import { captureLogs, type LogCapture } from '../server/support.js';

export const NAMESPACE = 'sg-system';
export const SECRET = 'streamguard-tls';
export const CONFIG = 'streamguard';
export const SERVICE = 'streamguard';
export const HOST = `${SERVICE}.${NAMESPACE}.svc`;
export const SANS = normalizeSans([...serviceSans(SERVICE, NAMESPACE), 'localhost'], 'test');
const ADMISSION = 'admissionregistration.k8s.io/v1';

/** A webhook configuration as the chart ships it: two webhooks, no caBundle yet. */
export function webhookConfiguration(
  kind: 'Validating' | 'Mutating',
  annotations: Record<string, string> = {},
): KubeObject {
  const webhook = (name: string, path: string) => ({
    name,
    clientConfig: { service: { namespace: NAMESPACE, name: SERVICE, path, port: 443 } },
    rules: [
      {
        apiGroups: ['hypershift.openshift.io'],
        apiVersions: ['v1beta1'],
        operations: ['CREATE', 'UPDATE'],
        resources: ['nodepools'],
      },
    ],
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
    failurePolicy: kind === 'Validating' ? 'Fail' : 'Ignore',
  });
  const path = kind === 'Validating' ? '/validate' : '/mutate';
  return {
    apiVersion: ADMISSION,
    kind: `${kind}WebhookConfiguration`,
    metadata: { name: CONFIG, annotations },
    webhooks: [webhook(`nodepools.${CONFIG}.io`, path), webhook(`configmaps.${CONFIG}.io`, path)],
  };
}

export async function startApi(objects: KubeObject[] = defaultConfigurations()): Promise<KubeApi> {
  return startKubeApi({ namespaces: ['default', 'kube-system', NAMESPACE], objects });
}

export function defaultConfigurations(): KubeObject[] {
  return [webhookConfiguration('Validating'), webhookConfiguration('Mutating')];
}

/** The caBundle of every webhook of one configuration, decoded. */
export function configBundles(api: KubeApi, kind: 'Validating' | 'Mutating'): string[] {
  const config = api.get({
    apiVersion: ADMISSION,
    kind: `${kind}WebhookConfiguration`,
    name: CONFIG,
  });
  const webhooks = (config?.webhooks ?? []) as { clientConfig?: { caBundle?: string } }[];
  return webhooks.map((w) => Buffer.from(w.clientConfig?.caBundle ?? '', 'base64').toString());
}

export function storedSecret(api: KubeApi): KubeObject | undefined {
  return api.get({ apiVersion: 'v1', kind: 'Secret', namespace: NAMESPACE, name: SECRET });
}

export function secretData(api: KubeApi): Record<string, string> {
  const data = (storedSecret(api)?.data ?? {}) as Record<string, string>;
  return Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
  );
}

/** Requests to the TLS Secret by method, with the status codes answered. */
export function secretWrites(api: KubeApi, method: 'POST' | 'PUT', since = 0): number[] {
  const secrets = `/api/v1/namespaces/${NAMESPACE}/secrets`;
  return api.requests
    .slice(since)
    .filter((r) => r.method === method && r.path.startsWith(secrets))
    .map((r) => r.code ?? 0);
}

export interface Replica {
  tls: ClusterTls;
  dir: string;
  logs: LogCapture;
}

export async function replica(
  api: KubeApi,
  options: Partial<Omit<ClusterTlsOptions, 'kubeConfig' | 'dir' | 'logger'>> = {},
): Promise<Replica> {
  const dir = await mkdtemp(join(tmpdir(), 'streamguard-cluster-tls-'));
  const logs = captureLogs();
  const tls = new ClusterTls({
    kubeConfig: kubeConfigFrom({ kubeconfig: api.kubeconfigPath }),
    namespace: NAMESPACE,
    secretName: SECRET,
    sans: SANS,
    webhookConfigurations: [CONFIG],
    dir,
    logger: logs.logger,
    recheckMs: 3_600_000, // tests drive passes with sync()
    watch: false,
    ...options,
  });
  return { tls, dir, logs };
}

export async function closeReplicas(replicas: Replica[]): Promise<void> {
  for (const r of replicas) {
    r.tls.stop();
    await rm(r.dir, { recursive: true, force: true });
  }
}

/**
 * One request to a webhook on loopback over TLS, trusting `ca` only and checking the Service's
 * name (as the API server does); `fingerprint` is the served certificate's SHA-256.
 */
export function callService(
  port: number,
  ca: string,
  path: string,
  body?: string,
): Promise<{ status: number; text: string; fingerprint?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: body === undefined ? 'GET' : 'POST',
        servername: HOST,
        ca,
        agent: false,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        timeout: 10_000,
      },
      (res) => {
        const fingerprint = (res.socket as TLSSocket).getPeerX509Certificate()?.fingerprint256;
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text, ...(fingerprint ? { fingerprint } : {}) }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}
