import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LIFETIMES,
  planTlsSecret,
  type Step,
  type TlsPlan,
} from '../../src/tls/cluster/plan.js';
import { normalizeSans } from '../../src/tls/cluster/sans.js';
import type { TlsSecretData } from '../../src/tls/cluster/secret-data.js';
import { TlsError } from '../../src/tls/errors.js';
import { DAY, bundleTrusts, certificates } from './trust.js';

const HOST = 'streamguard.sg-system.svc';
const SANS = normalizeSans([HOST, 'streamguard', '127.0.0.1'], 'test');
const T0 = Date.UTC(2027, 0, 1);

/** The planner run the way the edge runs it: re-plan until nothing is left to do. */
function settle(data: TlsSecretData | undefined, now: number, published?: Set<string>) {
  const writes: TlsPlan[] = [];
  for (;;) {
    const plan = planTlsSecret({ data, sans: SANS, now, ...(published ? { published } : {}) });
    if (plan.steps.length === 0) return { data: plan.data, writes, last: plan };
    writes.push(plan);
    data = plan.data;
    if (writes.length > 4) throw new Error(`no fixed point: ${writes.map((w) => w.steps)}`);
  }
}

function fingerprints(bundle: string): Set<string> {
  return new Set(certificates(bundle).map((c) => c.fingerprint256));
}

function issuerOf(certPem: string): string {
  return new X509Certificate(certPem).issuer;
}

describe('planTlsSecret', () => {
  it('creates a CA and a serving certificate for an absent Secret, then keeps them', () => {
    const first = planTlsSecret({ data: undefined, sans: SANS, now: T0 });
    expect(first.steps).toEqual(['create-ca', 'issue-serving']);
    expect(certificates(first.data['ca.crt'])).toHaveLength(1);
    expect(bundleTrusts(first.data['ca.crt'], first.data['tls.crt'], T0, HOST)).toBe(true);
    const serving = new X509Certificate(first.data['tls.crt']);
    expect(serving.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(Date.parse(serving.validTo) - T0).toBe(365 * DAY);

    const again = planTlsSecret({ data: first.data, sans: SANS, now: T0 + 30 * DAY });
    expect(again.steps).toEqual([]);
    expect(again.data).toEqual(first.data);
    // Next change: the serving certificate is due with a third of its year left.
    expect(again.nextChange).toBe(T0 + 365 * DAY - (365 * DAY) / 3);
  });

  it('goes through a whole CA lifetime: renewals, rollover, switch after publication, drop', () => {
    let { data } = settle(undefined, T0);
    const [caA] = certificates(data['ca.crt']);
    const log: { day: number; steps: Step[] }[] = [];
    let published = fingerprints(data['ca.crt']);
    for (let day = 30; day <= 6 * 365; day += 30) {
      const now = T0 + day * DAY;
      const before = data;
      const result = settle(data, now, published);
      for (const write of result.writes) log.push({ day, steps: write.steps });
      data = result.data;
      // The serving pair in force is trusted by the bundle before and after every change.
      expect(bundleTrusts(data['ca.crt'], data['tls.crt'], now, HOST)).toBe(true);
      if (bundleTrusts(before['ca.crt'], before['tls.crt'], now, HOST)) {
        expect(bundleTrusts(data['ca.crt'], before['tls.crt'], now, HOST)).toBe(true);
        expect(bundleTrusts(before['ca.crt'], data['tls.crt'], now, HOST)).toBe(true);
      }
      published = fingerprints(data['ca.crt']); // the edge publishes what it settled on
    }
    const stepDays = (step: Step) => log.filter((l) => l.steps.includes(step)).map((l) => l.day);
    // Serving renewed with a third of its year left (~day 244), every ~8 months after that.
    expect(stepDays('renew-serving')[0]).toBe(270);
    // CA rollover with a third of 5 years left (day 1217.3 → first check after it, day 1230).
    expect(stepDays('start-ca-rollover')).toEqual([1230]);
    // The switch comes only on the next check, once the new bundle has been published.
    expect(stepDays('switch-serving')).toEqual([1260]);
    // The old CA leaves the bundle once it expired (day 1826 → day 1830).
    expect(stepDays('drop-expired-ca')).toEqual([1830]);
    expect(stepDays('create-ca')).toEqual([]);
    const [caB, ...more] = certificates(data['ca.crt']);
    expect(more).toHaveLength(0);
    expect(caB?.fingerprint256).not.toBe(caA?.fingerprint256);
    expect(issuerOf(data['tls.crt'])).toBe(caB?.subject);
  });

  it('holds the switch to a new CA until the bundle with it is published', () => {
    // Settled at day 1200 (serving renewed on the way), the CA is due from day 1217.
    const { data } = settle(settle(undefined, T0).data, T0 + 1200 * DAY);
    const at = T0 + 1300 * DAY;
    const rollover = planTlsSecret({ data, sans: SANS, now: at });
    expect(rollover.steps).toEqual(['start-ca-rollover']);
    expect(rollover.waiting).toMatch(/waits until the new CA's bundle is published/);
    expect(rollover.data['tls.crt']).toBe(data['tls.crt']);
    expect(certificates(rollover.data['ca.crt'])).toHaveLength(2);

    // Published: only the old CA (a webhook configuration not yet patched).
    const oldOnly = fingerprints(data['ca.crt']);
    const held = planTlsSecret({ data: rollover.data, sans: SANS, now: at, published: oldOnly });
    expect(held.steps).toEqual([]);
    expect(held.waiting).toBeDefined();
    // The next change is the old pair's renewal date, in the future: no busy re-checking.
    const servingEnd = Date.parse(new X509Certificate(data['tls.crt']).validTo);
    expect(held.nextChange).toBe(servingEnd - (365 * DAY) / 3);
    expect(held.nextChange).toBeGreaterThan(at);

    const both = fingerprints(rollover.data['ca.crt']);
    const switched = planTlsSecret({ data: rollover.data, sans: SANS, now: at, published: both });
    expect(switched.steps).toEqual(['switch-serving']);
    expect(issuerOf(switched.data['tls.crt'])).toBe(
      certificates(rollover.data['ca.crt'])[1]?.subject,
    );
    expect(bundleTrusts(data['ca.crt'], switched.data['tls.crt'], at, HOST)).toBe(false);
    expect(bundleTrusts(rollover.data['ca.crt'], switched.data['tls.crt'], at, HOST)).toBe(true);
  });

  it('replaces a lost serving pair at rollover time under the outgoing, published CA', () => {
    const { data } = settle(settle(undefined, T0).data, T0 + 1200 * DAY);
    const at = T0 + 1300 * DAY;
    const plan = planTlsSecret({ data: { ...data, 'tls.key': '' }, sans: SANS, now: at });
    expect(plan.steps).toEqual(['start-ca-rollover', 'issue-serving']);
    expect(bundleTrusts(data['ca.crt'], plan.data['tls.crt'], at, HOST)).toBe(true);
    // It then moves to the new CA like any other pair, once that CA is published.
    const published = fingerprints(plan.data['ca.crt']);
    const next = planTlsSecret({ data: plan.data, sans: SANS, now: at, published });
    expect(next.steps).toEqual(['switch-serving']);
  });

  it('counts a step already due but held back no more in the next change', () => {
    const { data } = settle(undefined, T0);
    const at = T0 + 250 * DAY; // serving due since day 243; its CA key is lost
    const rollover = planTlsSecret({ data: { ...data, 'ca.key': '' }, sans: SANS, now: at });
    expect(rollover.steps).toEqual(['start-ca-rollover']);
    const oldOnly = fingerprints(data['ca.crt']);
    const held = planTlsSecret({ data: rollover.data, sans: SANS, now: at, published: oldOnly });
    expect(held.waiting).toBeDefined();
    expect(held.nextChange).toBe(Date.parse(new X509Certificate(data['tls.crt']).validTo));
  });

  it('renews the serving certificate under the same CA when the SANs change', () => {
    const { data } = settle(undefined, T0);
    const sans = normalizeSans([...SANS, 'streamguard.sg-system'], 'test');
    const plan = planTlsSecret({ data, sans, now: T0 + DAY });
    expect(plan.steps).toEqual(['renew-serving']);
    expect(plan.data['ca.crt']).toBe(data['ca.crt']);
    expect(
      new X509Certificate(plan.data['tls.crt']).checkHost('streamguard.sg-system'),
    ).toBeDefined();
  });

  it('repairs each garbled part alone and says what it ignored', () => {
    const { data } = settle(undefined, T0);
    const now = T0 + DAY;

    const badKey = planTlsSecret({ data: { ...data, 'tls.key': 'garbage' }, sans: SANS, now });
    expect(badKey.steps).toEqual(['issue-serving']);
    expect(badKey.findings).toEqual(['tls.key: not a usable PEM private key; ignored']);
    expect(badKey.data['ca.crt']).toBe(data['ca.crt']);
    expect(badKey.data['ca.key']).toBe(data['ca.key']);

    // Without the CA key nothing new can be signed: roll over, keep serving until published.
    const badCaKey = planTlsSecret({ data: { ...data, 'ca.key': 'x' }, sans: SANS, now });
    expect(badCaKey.steps).toEqual(['start-ca-rollover']);
    expect(badCaKey.data['tls.crt']).toBe(data['tls.crt']);
    expect(badCaKey.findings).toEqual(['ca.key: not a usable PEM private key; ignored']);

    const truncated = data['ca.crt'].slice(0, 200) + '\n-----END CERTIFICATE-----\n';
    const badBundle = planTlsSecret({ data: { ...data, 'ca.crt': truncated }, sans: SANS, now });
    expect(badBundle.steps).toEqual(['create-ca', 'issue-serving']);
    expect(badBundle.findings).toEqual([
      'ca.crt: certificate 1 cannot be parsed; dropped',
      'ca.key: matches no usable CA in ca.crt; ignored',
      'tls.crt: not issued by a usable CA in ca.crt; pair ignored',
    ]);
    for (const finding of [...badKey.findings, ...badBundle.findings]) {
      expect(finding).not.toContain('PRIVATE KEY');
    }

    // A serving certificate in the CA slot and stray text: dropped, the rest kept.
    const mixed = `${data['ca.crt']}junk\n${data['tls.crt']}`;
    const cleaned = planTlsSecret({ data: { ...data, 'ca.crt': mixed }, sans: SANS, now });
    expect(cleaned.steps).toEqual(['repair']);
    expect(cleaned.findings).toEqual(['ca.crt: certificate 2 is not a CA certificate; dropped']);
    expect(cleaned.data).toEqual(data);
  });

  it('replaces a pair whose key belongs to another certificate', () => {
    const a = settle(undefined, T0).data;
    const b = settle(undefined, T0).data;
    const plan = planTlsSecret({ data: { ...a, 'tls.key': b['tls.key'] }, sans: SANS, now: T0 });
    expect(plan.steps).toEqual(['issue-serving']);
    expect(plan.findings).toEqual(['tls.key: does not match tls.crt; pair ignored']);
  });

  it('refuses lifetimes under which a CA could not cover a serving certificate', () => {
    const lifetimes = { ...DEFAULT_LIFETIMES, caDays: 700 };
    expect(() => planTlsSecret({ data: undefined, sans: SANS, now: T0, lifetimes })).toThrow(
      TlsError,
    );
  });
});
