// Every route of the real server, over real TLS on loopback, and the metrics the requests leave.
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAdmissionReviewText } from '../../src/admission/parse.js';
import { loadContext } from '../../src/cli/context.js';
import { decide } from '../../src/engine/decide.js';
import {
  EXAMPLE_STATE,
  exampleRequests,
  metric,
  parseMetrics,
  startTestServer,
  type AdmissionResponseJson,
  type Reply,
  type Sample,
  type TestServer,
} from './support.js';

const EXAMPLES = exampleRequests();
const WEBHOOKS = ['validate', 'mutate'] as const;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

function admissionReply(reply: Reply): AdmissionResponseJson['response'] {
  expect(reply.status).toBe(200);
  expect(reply.headers['content-type']).toMatch(/^application\/json\b/);
  const review = JSON.parse(reply.body) as AdmissionResponseJson;
  expect(review.apiVersion).toBe('admission.k8s.io/v1');
  expect(review.kind).toBe('AdmissionReview');
  return review.response;
}

describe('admission routes', () => {
  it('has example requests to send', () => {
    expect(EXAMPLES.length).toBeGreaterThanOrEqual(5);
  });

  for (const webhook of WEBHOOKS) {
    it.each(EXAMPLES.map((e) => e.file))(`POST /${webhook} %s`, async (file) => {
      const example = EXAMPLES.find((e) => e.file === file);
      const response = admissionReply(await t.client.post(`/${webhook}`, example?.text ?? ''));
      expect(response.uid).toBe(example?.review.request.uid);
      expect(typeof response.allowed).toBe('boolean');
      if (webhook === 'mutate') expect(response.allowed).toBe(true);
    });
  }

  it('denies the InPlace downgrade and pins a created pool (the decisions are real)', async () => {
    const downgrade = EXAMPLES.find((e) => e.file === 'nodepool-downgrade-inplace.json');
    const create = EXAMPLES.find((e) => e.file === 'nodepool-create.json');
    const denied = admissionReply(await t.client.post('/validate', downgrade?.text ?? ''));
    expect(denied.allowed).toBe(false);
    expect(denied.status?.code).toBe(403);
    expect(denied.status?.message).toMatch(/^\[no-downgrade\] /);
    const pinned = admissionReply(await t.client.post('/mutate', create?.text ?? ''));
    expect(pinned.patchType).toBe('JSONPatch');
    const patch = JSON.parse(Buffer.from(pinned.patch ?? '', 'base64').toString('utf8')) as {
      path: string;
    }[];
    expect(patch.map((op) => op.path)).toContain('/spec/osImageStream');
  });
});

describe('operational routes', () => {
  it('GET /healthz answers 200', async () => {
    const reply = await t.client.get('/healthz');
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('ok');
  });

  it('GET /readyz answers 200 when ready', async () => {
    expect(t.running.ready()).toBe(true);
    const reply = await t.client.get('/readyz');
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('ok');
  });

  it.each([
    ['GET', '/nope'],
    ['GET', '/validate'],
    ['POST', '/healthz'],
    ['GET', '/validate/extra'],
  ] as const)('%s %s answers 404 with a JSON Status', async (method, path) => {
    const reply = await t.client.request(path, {
      method,
      ...(method === 'POST' ? { body: '{}', contentType: 'application/json' } : {}),
    });
    expect(reply.status).toBe(404);
    expect(reply.headers['content-type']).toMatch(/^application\/json\b/);
    expect(JSON.parse(reply.body)).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      code: 404,
      message: expect.stringContaining('POST /validate or /mutate'),
    });
  });
});

describe('GET /metrics', () => {
  // A server of its own, so that the counters hold exactly the requests sent here.
  let m: TestServer;
  let samples: Sample[];
  const sent = { validate: 0, mutate: 0 };
  const expectedRequests = new Map<string, number>();
  const expectedFindings = new Map<string, number>();
  const bump = (map: Map<string, number>, key: object) => {
    const k = JSON.stringify(key);
    map.set(k, (map.get(k) ?? 0) + 1);
  };

  beforeAll(async () => {
    m = await startTestServer();
    // What each request should count, from the engine itself over the same state.
    const context = await loadContext({ state: EXAMPLE_STATE });
    for (const webhook of WEBHOOKS) {
      for (const example of EXAMPLES) {
        // Twice each, so counts above one are checked too.
        for (let i = 0; i < 2; i++) {
          const reply = await m.client.post(`/${webhook}`, example.text);
          expect(reply.status).toBe(200);
          sent[webhook]++;
          const request = parseAdmissionReviewText(example.text, example.file);
          const decision = decide(request, context, webhook);
          const outcome = !decision.allowed
            ? 'denied'
            : decision.findings.some((f) => f.severity === 'warn')
              ? 'warned'
              : 'allowed';
          expect((JSON.parse(reply.body) as AdmissionResponseJson).response.allowed).toBe(
            decision.allowed,
          );
          bump(expectedRequests, { webhook, operation: request.operation, outcome });
          for (const f of decision.findings)
            bump(expectedFindings, { webhook, rule: f.rule, severity: f.severity });
        }
      }
    }
    // Two malformed requests: counted as errors.
    expect((await m.client.post('/validate', 'not json')).status).toBe(400);
    expect((await m.client.post('/mutate', '{}')).status).toBe(400);
    const reply = await m.client.get('/metrics');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    samples = parseMetrics(reply.body);
  });
  afterAll(() => m.close());

  it('counts requests by webhook, operation and outcome', () => {
    const got = samples
      .filter((s) => s.name === 'streamguard_admission_requests_total')
      .filter((s) => s.labels.outcome !== 'error');
    const want = [...expectedRequests].map(([k, v]) => ({ labels: JSON.parse(k), value: v }));
    expect(got.map(({ labels, value }) => ({ labels, value }))).toEqual(
      expect.arrayContaining(want),
    );
    expect(got).toHaveLength(want.length);
    // The examples cover all three outcomes.
    expect(new Set(got.map((s) => s.labels.outcome))).toEqual(
      new Set(['allowed', 'denied', 'warned']),
    );
    for (const webhook of WEBHOOKS) {
      expect(
        metric(samples, 'streamguard_admission_requests_total', {
          webhook,
          operation: 'unknown',
          outcome: 'error',
        }),
      ).toBe(1);
    }
  });

  it('counts rule findings by webhook, rule and severity', () => {
    const got = samples.filter((s) => s.name === 'streamguard_rule_findings_total');
    const want = [...expectedFindings].map(([k, v]) => ({ labels: JSON.parse(k), value: v }));
    expect(want.length).toBeGreaterThan(0);
    expect(got.map(({ labels, value }) => ({ labels, value }))).toEqual(
      expect.arrayContaining(want),
    );
    expect(got).toHaveLength(want.length);
    expect(
      metric(samples, 'streamguard_rule_findings_total', {
        webhook: 'validate',
        rule: 'no-downgrade',
        severity: 'deny',
      }),
    ).toBeGreaterThanOrEqual(2);
  });

  it('has a latency histogram per webhook with buckets up to 10 s', () => {
    const name = 'streamguard_admission_duration_seconds';
    for (const webhook of WEBHOOKS) {
      const buckets = samples.filter(
        (s) => s.name === `${name}_bucket` && s.labels.webhook === webhook,
      );
      expect(buckets.map((b) => b.labels.le)).toEqual([
        '0.0005',
        '0.001',
        '0.0025',
        '0.005',
        '0.01',
        '0.025',
        '0.05',
        '0.1',
        '0.25',
        '0.5',
        '1',
        '2.5',
        '5',
        '10',
        '+Inf',
      ]);
      // Cumulative counts; every request (malformed ones too) is observed once.
      const counts = buckets.map((b) => b.value);
      expect(counts).toEqual([...counts].sort((a, b) => a - b));
      const total = sent[webhook] + 1;
      expect(metric(samples, `${name}_bucket`, { webhook, le: '+Inf' })).toBe(total);
      expect(metric(samples, `${name}_count`, { webhook })).toBe(total);
      expect(metric(samples, `${name}_sum`, { webhook })).toBeGreaterThan(0);
    }
  });

  it('has an in-flight gauge back at 0', () => {
    expect(metric(samples, 'streamguard_admission_in_flight')).toBe(0);
  });

  it("has the serving certificate's notAfter as the expiry timestamp", async () => {
    const pem = await readFile(join(m.dir, 'tls', 'tls.crt'), 'utf8');
    const notAfter = new Date(new X509Certificate(pem).validTo).getTime() / 1000;
    expect(metric(samples, 'streamguard_certificate_expiry_timestamp_seconds')).toBe(notAfter);
    // …and that is the certificate the server presents.
    const reply = await m.client.get('/healthz', { fresh: true });
    expect(reply.fingerprint256).toBe(new X509Certificate(pem).fingerprint256);
  });

  it('has reload counters at 0 and the default process metrics', () => {
    for (const source of ['policy', 'state', 'certificate']) {
      expect(metric(samples, 'streamguard_reloads_total', { source }) ?? 0).toBe(0);
      expect(metric(samples, 'streamguard_reload_failures_total', { source }) ?? 0).toBe(0);
    }
    expect(metric(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(metric(samples, 'process_start_time_seconds')).toBeGreaterThan(0);
    expect(samples.some((s) => s.name.startsWith('nodejs_'))).toBe(true);
  });
});
