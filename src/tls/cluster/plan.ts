import { X509Certificate, randomBytes } from 'node:crypto';
import { createCertificateAuthority, issueServingCertificate } from '../self-signed.js';
import { TlsError } from '../errors.js';
import { isIpSan, sameSans } from './sans.js';
import {
  CA_CRT,
  CA_KEY,
  TLS_CRT,
  TLS_KEY,
  caFromPem,
  readSecretData,
  type CaCertificate,
  type SecretFacts,
  type ServingPair,
  type Signer,
  type TlsSecretData,
} from './secret-data.js';

// The self-managed certificate lifecycle as one pure decision: from what the Secret holds now,
// what it should hold next. Every replica runs it against the same Secret; whoever writes first
// wins and the others re-plan from the winner's data, so the plan depends on the data only.
//
// Rollover keeps API servers and replicas talking at every step:
//   create-ca:          bundle [A],    serving by A
//   start-ca-rollover:  bundle [A, B], serving still by A (B signs from now on)
//   switch-serving:     bundle [A, B], serving by B, only once [A, B] is published
//   drop-expired-ca:    bundle [B],    once A has expired (so has everything A signed)
// A client holding the bundle from before a write trusts the serving certificate after it, and
// one holding the bundle from after a write trusts the serving certificate before it.

export interface Lifetimes {
  caDays: number;
  servingDays: number;
  /** Renew (serving) or roll over (CA) when less than this fraction of the lifetime is left. */
  renewFraction: number;
}

/**
 * CA 5 y, serving 1 y, act with a third left: CA rollover starts ~20 months before the old CA
 * expires, so every serving certificate it signed is gone before it leaves the bundle.
 */
export const DEFAULT_LIFETIMES: Lifetimes = {
  caDays: 1826,
  servingDays: 365,
  renewFraction: 1 / 3,
};

export type Step =
  | 'create-ca'
  | 'start-ca-rollover'
  | 'drop-expired-ca'
  | 'issue-serving'
  | 'renew-serving'
  | 'switch-serving'
  | 'repair';

/** Makes keys and certificates; injected so tests can count or vary it. */
export interface Issuer {
  newCa(now: number, days: number): { certPem: string; keyPem: string };
  newServing(signer: Signer, sans: string[], now: number, days: number): ServingMaterial;
}

export interface ServingMaterial {
  certPem: string;
  keyPem: string;
}

export interface PlanInput {
  /** The Secret's data, or undefined when there is no Secret. */
  data: TlsSecretData | undefined;
  /** Wanted SANs, normalized (normalizeSans). */
  sans: string[];
  now: number;
  /**
   * Fingerprints of the CAs every client is known to trust (in every webhook's caBundle).
   * Default: the CAs already in the Secret. A CA this plan adds is never published yet.
   */
  published?: ReadonlySet<string>;
  lifetimes?: Lifetimes;
  issuer?: Issuer;
}

export interface TlsPlan {
  /** Empty: keep the Secret as it is. */
  steps: Step[];
  /** What the Secret should hold (the input's four keys, unchanged, when `steps` is empty). */
  data: Required<TlsSecretData>;
  /** Why each step was taken, for logs. */
  reasons: string[];
  /** Parts of the input that were unusable and ignored. */
  findings: string[];
  /** Set when a step is held back until the bundle is published. */
  waiting?: string;
  /**
   * The next time after `now` at which time alone changes the plan (renewal, rollover, expiry),
   * epoch ms; 0 if none. A step already due but held back is not counted again.
   */
  nextChange: number;
}

const DAY_MS = 86_400_000;

export function planTlsSecret(input: PlanInput): TlsPlan {
  const { now, sans } = input;
  const life = checkLifetimes(input.lifetimes ?? DEFAULT_LIFETIMES);
  const issuer = input.issuer ?? forgeIssuer;
  const facts = readSecretData(input.data, now);
  const published = input.published ?? new Set(facts.trusted.map((ca) => ca.fingerprint));
  const steps: Step[] = [];
  const reasons: string[] = [];
  let waiting: string | undefined;

  if (facts.expired > 0) {
    steps.push('drop-expired-ca');
    reasons.push(`${facts.expired} expired CA certificate(s) left the bundle`);
  }

  const bundle = [...facts.trusted];
  let signer = facts.signer;
  if (!signer || dueAt(signer.ca, life.caDays, life) <= now) {
    const fresh = issuer.newCa(now, life.caDays);
    steps.push(bundle.length === 0 ? 'create-ca' : 'start-ca-rollover');
    reasons.push(
      signer
        ? `CA expires ${iso(signer.ca.notAfter)}: a new CA joins the bundle and signs from now on`
        : 'no usable CA key: a new CA joins the bundle',
    );
    signer = { ca: caFromPem(fresh.certPem), keyPem: fresh.keyPem };
    bundle.push(signer.ca);
  }

  let serving: ServingMaterial | undefined = facts.serving;
  const current = facts.serving;
  const problem = current ? servingProblem(current, sans, signer.ca, life, now) : 'none yet';
  if (problem !== undefined) {
    const switching = current !== undefined && current.issuer.fingerprint !== signer.ca.fingerprint;
    if (switching && !published.has(signer.ca.fingerprint)) {
      // The pair in force still works; replacing it before clients trust the new CA would not.
      waiting = `serving certificate (${problem}) waits until the new CA's bundle is published`;
    } else {
      // With no pair to keep, a replacement signed by the outgoing CA (still published, still
      // in date) is trusted by every client at once; one signed by the new CA only later.
      const outgoing = facts.signer;
      const by =
        !current &&
        !published.has(signer.ca.fingerprint) &&
        outgoing &&
        published.has(outgoing.ca.fingerprint)
          ? outgoing
          : signer;
      const days = Math.min(life.servingDays, (by.ca.notAfter - now) / DAY_MS);
      const fresh = issuer.newServing(by, sans, now, days);
      serving = { certPem: new X509Certificate(fresh.certPem).toString(), keyPem: fresh.keyPem };
      steps.push(!current ? 'issue-serving' : switching ? 'switch-serving' : 'renew-serving');
      reasons.push(`serving certificate: ${problem}`);
    }
  }

  const data = {
    [TLS_CRT]: serving?.certPem ?? '',
    [TLS_KEY]: serving?.keyPem ?? '',
    [CA_CRT]: bundle.map((ca) => ca.pem).join(''),
    [CA_KEY]: signer.keyPem,
  };
  if (steps.length === 0 && !sameData(data, input.data)) {
    steps.push('repair');
    reasons.push('unusable or non-canonical parts rewritten');
  }
  return {
    steps,
    data,
    reasons,
    findings: facts.findings,
    ...(waiting ? { waiting } : {}),
    nextChange: nextChange(facts, life, now),
  };
}

/** Why the serving pair must be replaced, or undefined while it is fine. */
function servingProblem(
  serving: ServingPair,
  sans: string[],
  signer: CaCertificate,
  life: Lifetimes,
  now: number,
): string | undefined {
  if (serving.issuer.fingerprint !== signer.fingerprint)
    return 'issued by a CA that no longer signs';
  if (!sameSans(serving.sans, sans)) return `SANs change to ${sans.join(', ')}`;
  if (dueAt(serving, life.servingDays, life) <= now) return `expires ${iso(serving.notAfter)}`;
  return undefined;
}

/**
 * From when a certificate is due: less than `renewFraction` of the configured lifetime left. The
 * configured lifetime, not the certificate's own span: issuers backdate notBefore differently.
 */
function dueAt(cert: { notAfter: number }, days: number, life: Lifetimes): number {
  return cert.notAfter - days * DAY_MS * life.renewFraction;
}

function nextChange(facts: SecretFacts, life: Lifetimes, now: number): number {
  const times = facts.trusted.map((ca) => ca.notAfter);
  if (facts.signer) times.push(dueAt(facts.signer.ca, life.caDays, life));
  if (facts.serving) {
    times.push(dueAt(facts.serving, life.servingDays, life), facts.serving.notAfter);
  }
  const future = times.filter((t) => t > now);
  return future.length === 0 ? 0 : Math.min(...future);
}

/**
 * A signer that is not yet due has at least `renewFraction` of the CA life left, which must cover
 * a whole serving lifetime: otherwise serving certificates would be cut short by their CA.
 */
export function checkLifetimes(life: Lifetimes): Lifetimes {
  const { caDays, servingDays, renewFraction } = life;
  if (!(servingDays > 0 && caDays > 0 && renewFraction > 0 && renewFraction < 1)) {
    throw new TlsError('certificate lifetimes', 'need positive days and 0 < renewFraction < 1');
  }
  if (caDays * renewFraction < servingDays) {
    throw new TlsError(
      'certificate lifetimes',
      `CA life × renewFraction (${caDays * renewFraction} d) must cover a serving life (${servingDays} d)`,
    );
  }
  return life;
}

function sameData(a: Required<TlsSecretData>, b: TlsSecretData | undefined): boolean {
  return ([TLS_CRT, TLS_KEY, CA_CRT, CA_KEY] as const).every((key) => a[key] === b?.[key]);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** node-forge through src/tls/self-signed.ts; a random CN suffix keeps two CAs' subjects apart. */
export const forgeIssuer: Issuer = {
  newCa: (now, days) =>
    createCertificateAuthority({
      commonName: `streamguard-ca@${Math.floor(now / 1000)}-${randomBytes(4).toString('hex')}`,
      days,
      now,
    }),
  newServing: (signer, sans, now, days) =>
    issueServingCertificate(
      { certPem: signer.ca.pem, keyPem: signer.keyPem, notAfter: new Date(signer.ca.notAfter) },
      {
        dnsNames: sans.filter((san) => !isIpSan(san)),
        ipAddresses: sans.filter(isIpSan),
        days,
        now,
      },
    ),
};
