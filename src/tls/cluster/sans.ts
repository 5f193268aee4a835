import { isIP } from 'node:net';
import { TlsError } from '../errors.js';

// One canonical form for subject alternative names, so the names we want and the names a stored
// certificate carries compare equal however they were written (case, IPv6 spelling, order).

const DNS_LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DNS_NAME = new RegExp(`^(?:\\*\\.)?${DNS_LABEL}(?:\\.${DNS_LABEL})*$`);

/** Sorted, de-duplicated, lower-case names and compressed IPs; throws naming `where` on junk. */
export function normalizeSans(sans: readonly string[], where: string): string[] {
  const out = new Set<string>();
  for (const san of sans) {
    const ip = canonicalIp(san);
    if (ip !== undefined) {
      out.add(ip);
      continue;
    }
    const lower = san.toLowerCase();
    if (lower.length > 253 || !DNS_NAME.test(lower)) {
      throw new TlsError(where, `not a DNS name or IP address: ${JSON.stringify(san)}`);
    }
    out.add(lower);
  }
  if (out.size === 0) throw new TlsError(where, 'no DNS name or IP address for the certificate');
  return [...out].sort();
}

/** The SANs of a certificate as `X509Certificate.subjectAltName` prints them, normalized. */
export function certificateSans(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  const names = subjectAltName
    .split(', ')
    .map((entry) => /^(?:DNS|IP Address):(.+)$/.exec(entry)?.[1])
    .filter((name): name is string => name !== undefined);
  return [...new Set(names.map((name) => canonicalIp(name) ?? name.toLowerCase()))].sort();
}

/** The SANs for the webhook Service: NAME, NAME.NS, NAME.NS.svc, NAME.NS.svc.cluster.local. */
export function serviceSans(service: string, namespace: string): string[] {
  return [service, `${service}.${namespace}`, `${service}.${namespace}.svc`].flatMap((n) =>
    n.endsWith('.svc') ? [n, `${n}.cluster.local`] : [n],
  );
}

export function isIpSan(san: string): boolean {
  return isIP(san) !== 0;
}

function canonicalIp(value: string): string | undefined {
  const version = isIP(value);
  if (version === 4) return value;
  if (version === 6 && !value.includes('%')) {
    return new URL(`http://[${value}]/`).hostname.slice(1, -1);
  }
  return undefined;
}

export function sameSans(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((san, i) => san === b[i]);
}
