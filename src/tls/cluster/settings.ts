// The settings of self-managed TLS, checked and completed before anything talks to the cluster:
// names as Kubernetes would accept them, the namespace found the way a Pod finds its own.
import { readFileSync } from 'node:fs';
import { TlsError } from '../errors.js';
import { normalizeSans, serviceSans } from './sans.js';

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN =
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export interface ClusterTlsFlags {
  secretName: string;
  namespace?: string;
  service?: string;
  /** Extra SANs (--san). */
  sans: string[];
  webhookConfigurations: string[];
}

export interface ClusterTlsSettings {
  secretName: string;
  namespace: string;
  sans: string[];
  webhookConfigurations: string[];
}

export function clusterTlsSettings(
  flags: ClusterTlsFlags,
  env: { podNamespace?: string; namespaceFile?: string } = {
    ...(process.env.POD_NAMESPACE ? { podNamespace: process.env.POD_NAMESPACE } : {}),
  },
): ClusterTlsSettings {
  check('--tls-secret', flags.secretName, DNS_SUBDOMAIN, 'a DNS subdomain (RFC 1123)');
  const namespace = flags.namespace ?? env.podNamespace ?? ownNamespace(env.namespaceFile);
  check('--tls-namespace', namespace, DNS_LABEL, 'a DNS label (RFC 1123)');
  if (flags.service !== undefined) {
    check('--service', flags.service, DNS_LABEL, 'a DNS label (RFC 1123)');
  }
  for (const name of flags.webhookConfigurations) {
    check('--webhook-configuration', name, DNS_SUBDOMAIN, 'a DNS subdomain (RFC 1123)');
  }
  const names = flags.service === undefined ? [] : serviceSans(flags.service, namespace);
  if (names.length === 0 && flags.sans.length === 0) {
    throw new TlsError('--tls-secret', 'needs --service NAME or --san for the serving certificate');
  }
  return {
    secretName: flags.secretName,
    namespace,
    sans: normalizeSans([...names, ...flags.sans], '--san'),
    webhookConfigurations: [...new Set(flags.webhookConfigurations)],
  };
}

function ownNamespace(file = SERVICE_ACCOUNT_NAMESPACE): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    throw new TlsError(
      '--tls-namespace',
      `not given, POD_NAMESPACE is unset and ${file} cannot be read (not in a Pod?)`,
    );
  }
}

function check(flag: string, value: string, pattern: RegExp, what: string): void {
  if (!pattern.test(value)) throw new TlsError(flag, `${JSON.stringify(value)} is not ${what}`);
}
