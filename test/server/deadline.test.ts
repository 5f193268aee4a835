// A context that never arrives: the webhook answers within its deadline on the request alone, as
// the policy's onMissingContext says, and still denies what is unsafe on the request's own terms.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadContext } from '../../src/cli/context.js';
import type { DecisionContext } from '../../src/engine/types.js';
import { defaultPolicy } from '../../src/policy/load.js';
import type { Policy } from '../../src/policy/types.js';
import { createApp } from '../../src/server/app.js';
import type { ContextSource } from '../../src/server/context-source.js';
import { createMetrics, type WebhookMetrics } from '../../src/server/metrics.js';
import { secureContextOptions } from '../../src/tls/options.js';
import { selfSignedBundle } from '../../src/tls/self-signed.js';
import {
  captureLogs,
  EXAMPLE_STATE,
  exampleRequest,
  LOOPBACK,
  metric,
  scrape,
  WebhookClient,
  type AdmissionResponseJson,
  type LogCapture,
} from './support.js';

const DEADLINE_MS = 300;
const scale = exampleRequest('nodepool-scale.json');
const downgrade = exampleRequest('nodepool-downgrade-inplace.json');
const create = exampleRequest('nodepool-create.json');

/** A source whose context never loads (an informer that never syncs). */
function neverReady(policy: Policy): ContextSource & { waits: number } {
  const source = {
    waits: 0,
    current: () => undefined,
    ready: () => {
      source.waits++;
      return new Promise<never>(() => undefined);
    },
    policy: () => policy,
    close: () => undefined,
  };
  return source;
}

interface Harness {
  client: WebhookClient;
  metrics: WebhookMetrics;
  logs: LogCapture;
  source: ContextSource & { waits: number };
  close(): Promise<void>;
}

async function serve(
  policy: Policy,
  deadlineMs = DEADLINE_MS,
  source: ContextSource & { waits: number } = neverReady(policy),
): Promise<Harness> {
  const bundle = selfSignedBundle({ sans: [] });
  const logs = captureLogs();
  const metrics = createMetrics({ processMetrics: false });
  const app = createApp({ source, logger: logs.logger, metrics, deadlineMs, ready: () => false });
  const server = https.createServer(secureContextOptions(bundle), app);
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const client = new WebhookClient((server.address() as AddressInfo).port, bundle.caPem);
  return {
    client,
    metrics,
    logs,
    source,
    close: () =>
      new Promise<void>((resolve) => {
        client.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function answer(h: Harness, webhook: string, body: string) {
  // The client gives up after 15 s: were the deadline not kept, the request would hang forever
  // on ready() and this would reject instead of answering.
  const reply = await h.client.post(`/${webhook}`, body);
  expect(reply.status).toBe(200);
  return (JSON.parse(reply.body) as AdmissionResponseJson).response;
}

const FALLBACK_WARNING =
  '[context] cluster context unavailable before the deadline; decided on the request alone';

describe('onMissingContext: warn', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await serve(defaultPolicy());
  });
  afterAll(() => h.close());

  it('answers a harmless change with a [context] warning', async () => {
    const r = await answer(h, 'validate', scale.text);
    expect(r.uid).toBe(scale.review.request.uid);
    expect(r.allowed).toBe(true);
    expect(r.warnings).toContain(FALLBACK_WARNING);
    expect(r.auditAnnotations?.rules.split(',')).toContain('context');
    expect(h.source.waits).toBeGreaterThan(0);
  });

  it('still denies an InPlace pool on rhel-10 going back to rhel-9', async () => {
    const r = await answer(h, 'validate', downgrade.text);
    expect(r.allowed).toBe(false);
    expect(r.status?.code).toBe(403);
    expect(r.status?.message.split('\n')).toEqual([
      expect.stringMatching(/^\[no-downgrade\] OS stream downgrade from rhel-10 to rhel-9/),
    ]);
    expect(r.warnings).toContain(FALLBACK_WARNING);
  });

  it('still pins the stream of a created pool on /mutate', async () => {
    const r = await answer(h, 'mutate', create.text);
    expect(r.allowed).toBe(true);
    expect(r.patchType).toBe('JSONPatch');
    expect(r.warnings).toContain(FALLBACK_WARNING);
  });

  it('counts the fallbacks and logs them as decisions', async () => {
    const samples = await scrape(h.client);
    expect(metric(samples, 'streamguard_context_fallbacks_total', { reason: 'deadline' })).toBe(3);
    expect(
      metric(samples, 'streamguard_rule_findings_total', {
        webhook: 'validate',
        rule: 'context',
        severity: 'warn',
      }),
    ).toBeGreaterThanOrEqual(2);
    const decisions = h.logs.lines().filter((l) => l.msg === 'decision');
    expect(decisions).toHaveLength(3);
    for (const d of decisions) expect(d.rules).toContain('context');
  });

  it('says not ready on /readyz while answering', async () => {
    const reply = await h.client.get('/readyz');
    expect(reply.status).toBe(503);
    expect(reply.body).toBe('not ready');
  });
});

describe('onMissingContext: deny', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await serve({ ...defaultPolicy(), onMissingContext: 'deny' });
  });
  afterAll(() => h.close());

  it('denies, saying the context did not arrive within the deadline', async () => {
    const r = await answer(h, 'validate', scale.text);
    expect(r.uid).toBe(scale.review.request.uid);
    expect(r.allowed).toBe(false);
    expect(r.status?.message).toBe(
      `[context] cluster context was not available within the ${DEADLINE_MS} ms deadline; decided on the request alone (policy onMissingContext: deny)`,
    );
  });

  it('denies the InPlace downgrade for its own reason too', async () => {
    const r = await answer(h, 'validate', downgrade.text);
    expect(r.allowed).toBe(false);
    expect(r.status?.message.split('\n')).toEqual([
      expect.stringMatching(/^\[no-downgrade\] /),
      expect.stringMatching(/^\[context\] /),
    ]);
  });

  it('never denies on /mutate: the note is a warning there', async () => {
    const r = await answer(h, 'mutate', scale.text);
    expect(r.allowed).toBe(true);
    expect(r.warnings).toEqual([FALLBACK_WARNING]);
  });
});

describe('a context that arrives before the deadline', () => {
  it('waits for it (in flight meanwhile) and decides with it, without a [context] note', async () => {
    const context = await loadContext({ state: EXAMPLE_STATE });
    let release: (c: DecisionContext) => void = () => undefined;
    let loaded: DecisionContext | undefined;
    const gate = new Promise<DecisionContext>((resolve) => (release = resolve));
    const source = {
      waits: 0,
      current: () => loaded,
      ready: () => {
        source.waits++;
        return gate;
      },
      policy: () => context.policy,
      close: () => undefined,
    };
    // A deadline far beyond the test: the answer must come from the context, not the timer.
    const h = await serve(context.policy, 60_000, source);
    try {
      const pending = answer(h, 'validate', downgrade.text);
      await expect
        .poll(async () => metric(await scrape(h.client), 'streamguard_admission_in_flight'), {
          timeout: 10_000,
          interval: 20,
        })
        .toBe(1);
      expect(source.waits).toBe(1);
      loaded = context;
      release(context);
      const r = await pending;
      expect(r.allowed).toBe(false);
      expect(r.warnings).toBeUndefined();
      expect(r.auditAnnotations).toEqual({ rules: 'no-downgrade' });
      expect(metric(await scrape(h.client), 'streamguard_admission_in_flight')).toBe(0);
      expect(
        metric(await scrape(h.client), 'streamguard_context_fallbacks_total', {
          reason: 'deadline',
        }) ?? 0,
      ).toBe(0);
      // Once loaded, requests take it at once.
      expect((await answer(h, 'validate', scale.text)).warnings).toBeUndefined();
      expect(source.waits).toBe(1);
    } finally {
      await h.close();
    }
  });
});
