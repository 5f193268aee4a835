// Publishes the CA bundle read back from the TLS Secret into `caBundle` of every webhook of the
// named Validating- and MutatingWebhookConfigurations (GET, then PUT at that resourceVersion).
//
// The bundle written is the Secret's plus any still-valid CA the configuration already has: a
// replica that read the Secret just before another replica's rollover then cannot take the new
// CA back out of the configuration. CAs leave only by expiring.
import { X509Certificate } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../server/logger.js';
import { backoffMs, sleep } from './backoff.js';
import { kubeJson, transient, unexpected } from '../../kube/json.js';

export const WEBHOOK_KINDS = ['validating', 'mutating'] as const;
export type WebhookKind = (typeof WEBHOOK_KINDS)[number];

/** Annotations by which another component owns caBundle; two owners would fight over it. */
const FOREIGN_OWNERS = [
  'cert-manager.io/inject-ca-from',
  'service.beta.openshift.io/inject-cabundle',
];

export type PublishOutcome = 'unchanged' | 'updated' | 'missing' | 'foreign-owner';

export interface PublishResult {
  /** Per configuration, e.g. `validating/streamguard`. */
  outcomes: Record<string, PublishOutcome>;
  /**
   * Fingerprints of the CAs every webhook of every existing configuration now trusts; undefined
   * when no named configuration exists (nothing is published anywhere).
   */
  published?: Set<string>;
}

interface WebhookConfiguration {
  metadata?: { annotations?: Record<string, unknown>; resourceVersion?: string };
  webhooks?: { name?: string; clientConfig?: { caBundle?: string } }[];
  [key: string]: unknown;
}

export interface PublishOptions {
  names: readonly string[];
  /** The Secret's ca.crt (PEM), as read back from the API server. */
  bundlePem: string;
  now: number;
  logger: Logger;
  /** Only read what is published, write nothing. */
  dryRun?: boolean;
}

export async function publishCaBundle(
  kc: KubeConfig,
  options: PublishOptions,
): Promise<PublishResult> {
  const outcomes: Record<string, PublishOutcome> = {};
  let published: Set<string> | undefined;
  for (const name of options.names) {
    for (const kind of WEBHOOK_KINDS) {
      const { outcome, trusted } = await publishOne(kc, kind, name, options);
      outcomes[`${kind}/${name}`] = outcome;
      if (trusted === undefined) continue;
      published = published ? intersect(published, trusted) : trusted;
    }
  }
  return { outcomes, ...(published ? { published } : {}) };
}

/** What the named configurations trust now, writing nothing. */
export async function readPublished(
  kc: KubeConfig,
  names: readonly string[],
  logger: Logger,
): Promise<Set<string>> {
  const result = await publishCaBundle(kc, { names, bundlePem: '', now: 0, logger, dryRun: true });
  return result.published ?? new Set();
}

async function publishOne(
  kc: KubeConfig,
  kind: WebhookKind,
  name: string,
  options: PublishOptions,
): Promise<{ outcome: PublishOutcome; trusted?: Set<string> }> {
  const path = `/apis/admissionregistration.k8s.io/v1/${kind}webhookconfigurations/${encodeURIComponent(name)}`;
  const where = `${kind}webhookconfiguration ${name}`;
  for (let attempt = 0; ; attempt++) {
    const got = await kubeJson(kc, 'GET', path, `get ${where}`);
    if (got.status === 404) {
      if (!options.dryRun) {
        options.logger.warn(
          { configuration: where },
          'webhook configuration not found; will retry',
        );
      }
      return { outcome: 'missing' };
    }
    if (got.status !== 200) throw unexpected(kc, `get ${where}`, got);
    const config = got.body as WebhookConfiguration;
    const owner = FOREIGN_OWNERS.find((a) => config.metadata?.annotations?.[a] !== undefined);
    if (owner) {
      if (!options.dryRun) {
        options.logger.error(
          { configuration: where, annotation: owner },
          'caBundle is managed by another component; not touching it (pick one TLS mode)',
        );
      }
      return { outcome: 'foreign-owner', trusted: trustedByAll(config) };
    }
    const webhooks = config.webhooks ?? [];
    const wanted = merge(options.bundlePem, webhooks, options.now);
    const encoded = Buffer.from(wanted).toString('base64');
    if (webhooks.every((w) => w.clientConfig?.caBundle === encoded) || options.dryRun) {
      return { outcome: 'unchanged', trusted: trustedByAll(config) };
    }
    const body: WebhookConfiguration = {
      ...config,
      webhooks: webhooks.map((w) => ({
        ...w,
        clientConfig: { ...w.clientConfig, caBundle: encoded },
      })),
    };
    const put = await kubeJson(kc, 'PUT', path, `update ${where}`, body);
    if (put.status === 200) {
      options.logger.info({ configuration: where, cas: count(wanted) }, 'caBundle published');
      return { outcome: 'updated', trusted: trustedByAll(put.body as WebhookConfiguration) };
    }
    const retry = put.status === 409 || transient(put.status);
    if (!retry || attempt >= 8) throw unexpected(kc, `update ${where}`, put);
    await sleep(backoffMs(attempt));
  }
}

/** The Secret's CAs, then the configuration's other CAs that are still in date. */
function merge(
  bundlePem: string,
  webhooks: WebhookConfiguration['webhooks'] & object,
  now: number,
) {
  const ours = pems(bundlePem);
  const seen = new Set(ours.map((c) => c.fingerprint256));
  const extra: X509Certificate[] = [];
  for (const webhook of webhooks) {
    for (const ca of pems(decode(webhook.clientConfig?.caBundle))) {
      if (seen.has(ca.fingerprint256) || !ca.ca || Date.parse(ca.validTo) <= now) continue;
      seen.add(ca.fingerprint256);
      extra.push(ca);
    }
  }
  return [...ours, ...extra].map((c) => c.toString()).join('');
}

function trustedByAll(config: WebhookConfiguration): Set<string> | undefined {
  const sets = (config.webhooks ?? []).map(
    (w) => new Set(pems(decode(w.clientConfig?.caBundle)).map((c) => c.fingerprint256)),
  );
  return sets.reduce<Set<string> | undefined>((a, b) => (a ? intersect(a, b) : b), undefined);
}

function pems(text: string): X509Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  return blocks.flatMap((block) => {
    try {
      return [new X509Certificate(block)];
    } catch {
      return [];
    }
  });
}

function decode(base64: string | undefined): string {
  return base64 ? Buffer.from(base64, 'base64').toString('utf8') : '';
}

function count(bundle: string): number {
  return pems(bundle).length;
}

function intersect(a: Set<string>, b: Set<string>): Set<string> {
  return new Set([...a].filter((x) => b.has(x)));
}
