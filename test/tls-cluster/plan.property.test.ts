import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planTlsSecret } from '../../src/tls/cluster/plan.js';
import { normalizeSans } from '../../src/tls/cluster/sans.js';
import type { TlsSecretData } from '../../src/tls/cluster/secret-data.js';
import { DAY, bundleTrusts, certificates } from './trust.js';

const HOST = 'streamguard.sg-system.svc';
const SANS = normalizeSans([HOST], 'test');
const T0 = Date.UTC(2027, 0, 1);

// One event between two runs of the edge: time passes, maybe a part of the Secret is damaged
// (those a rollover can survive), maybe the webhook configurations get the bundle afterwards.
const event = fc.record({
  days: fc.integer({ min: 0, max: 700 }),
  garble: fc.constantFrom(undefined, undefined, undefined, 'tls.key', 'tls.crt', 'ca.key'),
  published: fc.boolean(),
});

describe('planTlsSecret over random histories', () => {
  it('never puts a serving certificate in force that clients holding either bundle reject', () => {
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 6 }), (events) => {
        let now = T0;
        let data: TlsSecretData | undefined;
        let clientBundle = ''; // the caBundle the API servers hold
        let inForce: string | undefined; // the serving certificate replicas present
        for (const e of events) {
          now += e.days * DAY;
          const published = new Set(certificates(clientBundle).map((c) => c.fingerprint256));
          // Damage to a Secret whose bundle is not out yet can leave only unpublished keys.
          const caught = certificates(data?.['ca.crt'] ?? '').every((c) =>
            published.has(c.fingerprint256),
          );
          if (data && e.garble) data = { ...data, [e.garble]: 'damaged' };
          for (let writes = 0; ; writes++) {
            expect(writes).toBeLessThan(4);
            const plan = planTlsSecret({ data, sans: SANS, now, published });
            if (plan.steps.length === 0) break;
            const next = plan.data;
            expect(bundleTrusts(next['ca.crt'], next['tls.crt'], now, HOST)).toBe(true);
            if (inForce && bundleTrusts(clientBundle, inForce, now, HOST)) {
              // Replicas not yet reloaded keep working with clients that got the new bundle,
              expect(bundleTrusts(next['ca.crt'], inForce, now, HOST)).toBe(true);
              // and reloaded replicas with clients still on the old one (unless the damage left
              // only keys of CAs the clients do not know yet).
              if (!e.garble || caught) {
                expect(bundleTrusts(clientBundle, next['tls.crt'], now, HOST)).toBe(true);
              }
            }
            data = next;
            inForce = next['tls.crt'];
          }
          if (e.published && data) clientBundle = data['ca.crt'] ?? '';
          if (!clientBundle) clientBundle = data?.['ca.crt'] ?? ''; // first install
        }
      }),
      { numRuns: 12 },
    );
    // Every write makes RSA keys: generous for a shared, busy machine.
  }, 180_000);
});
