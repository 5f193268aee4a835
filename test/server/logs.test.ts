// The webhook's logs: one JSON line per decision with who, what and how it went, and never the
// objects themselves.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../src/server/app.js';
import {
  exampleRequest,
  exampleRequests,
  startTestServer,
  withUid,
  type AdmissionResponseJson,
  type AdmissionReviewJson,
  type TestServer,
} from './support.js';

const SECRET = 'sg-s3cr3t-9f8e7d6c5b4a-do-not-log';
const OLD_SECRET = 'sg-old-s3cr3t-0a1b2c3d-do-not-log';

/** The ConfigMap example with secret-looking data values in both the new and the old object. */
function withSecrets(r: AdmissionReviewJson): void {
  const data = (o: unknown) => (o as { data: Record<string, string> }).data;
  data(r.request.object).token = SECRET;
  data(r.request.object).password = `password=${SECRET}`;
  data(r.request.oldObject).token = OLD_SECRET;
}

interface Sent {
  uid: string;
  webhook: string;
  review: AdmissionReviewJson;
  response: AdmissionResponseJson['response'];
}

let t: TestServer;
const sent: Sent[] = [];

beforeAll(async () => {
  t = await startTestServer();
  const cases: [string, AdmissionReviewJson, ((r: AdmissionReviewJson) => void)?][] = [
    ...exampleRequests().map((e) => [e.file, e.review] as [string, AdmissionReviewJson]),
    ['secret', exampleRequest('configmap-add-runc.json').review, withSecrets],
  ];
  for (const webhook of ['validate', 'mutate']) {
    for (const [name, review, edit] of cases) {
      const uid = `logs-${webhook}-${name}`;
      const body = withUid(review, uid, edit);
      const reply = await t.client.post(`/${webhook}`, body);
      expect(reply.status).toBe(200);
      const response = (JSON.parse(reply.body) as AdmissionResponseJson).response;
      sent.push({ uid, webhook, review: JSON.parse(body) as AdmissionReviewJson, response });
    }
  }
  // Refused requests carrying the secret: a v1beta1 review, and one over the size limit.
  const configMap = exampleRequest('configmap-add-runc.json').review;
  const v1beta1 = withUid(configMap, 'logs-v1beta1', (r) => {
    withSecrets(r);
    r.apiVersion = 'admission.k8s.io/v1beta1';
  });
  expect((await t.client.post('/validate', v1beta1)).status).toBe(400);
  const huge = withUid(configMap, 'logs-huge', (r) => {
    withSecrets(r);
    (r.request.object as { data: Record<string, string> }).data.padding = 'x'.repeat(
      MAX_BODY_BYTES,
    );
  });
  expect((await t.client.post('/validate', huge)).status).toBe(413);
});
afterAll(() => t.close());

function decisions() {
  return t.logs.lines().filter((l) => l.msg === 'decision');
}

it('writes one JSON line per decision, with uid, identity, operation, rules, allowed and duration', () => {
  expect(decisions()).toHaveLength(sent.length);
  for (const s of sent) {
    const lines = decisions().filter((l) => l.uid === s.uid);
    expect(lines, s.uid).toHaveLength(1);
    const line = lines[0] ?? {};
    const { request } = s.review;
    expect(line).toMatchObject({
      level: 30,
      component: 'streamguard',
      webhook: s.webhook,
      uid: s.uid,
      kind: (request.kind as { kind: string }).kind,
      namespace: request.namespace,
      name: request.name,
      operation: request.operation,
      user: request.userInfo?.username,
      allowed: s.response.allowed,
      patched: s.response.patch !== undefined,
      dryRun: false,
    });
    // The rules the response names, in the same order.
    const rules = s.response.auditAnnotations?.rules.split(',') ?? [];
    expect(line.rules, s.uid).toEqual(rules);
    expect(typeof line.durationMs).toBe('number');
    expect(line.durationMs as number).toBeGreaterThanOrEqual(0);
    expect(typeof line.time).toBe('string');
  }
  // The examples give both allowed and denied lines with rules.
  expect(new Set(decisions().map((l) => l.allowed))).toEqual(new Set([true, false]));
  expect(decisions().some((l) => (l.rules as string[]).includes('no-downgrade'))).toBe(true);
});

it('never logs the objects', () => {
  const text = t.logs.text();
  expect(text).toContain('logs-validate-secret');
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain(OLD_SECRET);
  // Nor anything else only the objects hold.
  for (const fragment of [
    'defaultRuntime',
    'subnet-0123456789abcdef0',
    'm6a.xlarge',
    '"object"',
    '"oldObject"',
  ]) {
    expect(text).not.toContain(fragment);
  }
  for (const line of t.logs.lines()) {
    expect(Object.keys(line)).not.toContain('object');
    expect(Object.keys(line)).not.toContain('request');
  }
});

it('logs refused requests without their body', () => {
  const refused = t.logs.lines().filter((l) => l.msg === 'bad AdmissionReview');
  expect(refused).toHaveLength(1);
  expect(refused[0]).toMatchObject({ level: 40, webhook: 'validate' });
  expect(refused[0]?.error).toMatch(/apiVersion: expected "admission\.k8s\.io\/v1"/);
});
