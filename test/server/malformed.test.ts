// Bodies the webhook cannot decide on get a 400 (or 413) with a Kubernetes Status saying why, and
// the server keeps serving afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../src/server/app.js';
import {
  exampleRequest,
  metric,
  scrape,
  startTestServer,
  withUid,
  type AdmissionResponseJson,
  type Reply,
  type TestServer,
} from './support.js';

const scale = exampleRequest('nodepool-scale.json');
const configMap = exampleRequest('configmap-add-runc.json');

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

function statusOf(reply: Reply, code: number): string {
  expect(reply.status).toBe(code);
  expect(reply.headers['content-type']).toMatch(/^application\/json\b/);
  const body = JSON.parse(reply.body) as Record<string, unknown>;
  expect(body).toEqual({
    kind: 'Status',
    apiVersion: 'v1',
    status: 'Failure',
    code,
    message: expect.any(String),
  });
  return body.message as string;
}

/** The server still decides a valid request, on a new connection and on a kept-alive one. */
async function stillServing(): Promise<void> {
  for (const fresh of [true, false]) {
    const reply = await t.client.post('/validate', scale.text, { fresh });
    expect(reply.status).toBe(200);
    const review = JSON.parse(reply.body) as AdmissionResponseJson;
    expect(review.response).toEqual({ uid: scale.review.request.uid, allowed: true });
  }
}

const text = scale.text;
const malformed: [string, string | Buffer, string | undefined, RegExp][] = [
  ['a body that is not JSON', '{"apiVersion": "admission.k8s.io/v1",', undefined, /not JSON/],
  ['an empty body', '', undefined, /not JSON/],
  ['a JSON array', '[]', undefined, /expected a JSON object/],
  [
    'an AdmissionReview v1beta1',
    text.replace('"admission.k8s.io/v1"', '"admission.k8s.io/v1beta1"'),
    undefined,
    /apiVersion: expected "admission\.k8s\.io\/v1", got "admission\.k8s\.io\/v1beta1" \(set admissionReviewVersions: \["v1"\]/,
  ],
  [
    'the wrong kind',
    text.replace('"kind": "AdmissionReview"', '"kind": "AdmissionReviewList"'),
    undefined,
    /kind: expected "AdmissionReview", got "AdmissionReviewList"/,
  ],
  [
    'a request without uid',
    withUid(scale.review, '', (r) => delete (r.request as { uid?: string }).uid),
    undefined,
    /request\.uid: expected a non-empty string/,
  ],
  [
    'an empty uid',
    withUid(scale.review, ''),
    undefined,
    /request\.uid: expected a non-empty string/,
  ],
  [
    'Content-Type text/plain',
    text,
    'text/plain',
    /expected Content-Type: application\/json, got "text\/plain"/,
  ],
  [
    'Content-Type application/yaml',
    text,
    'application/yaml',
    /expected Content-Type: application\/json, got "application\/yaml"/,
  ],
  ['no Content-Type', text, '', /expected Content-Type: application\/json, got "\(none\)"/],
  [
    'a body that is not UTF-8',
    Buffer.concat([
      Buffer.from(text.slice(0, 60)),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(text.slice(60)),
    ]),
    undefined,
    /not valid UTF-8/,
  ],
];

describe.each(['validate', 'mutate'])('POST /%s with a malformed body', (webhook) => {
  it.each(malformed)('%s: 400 saying why', async (_what, body, contentType, why) => {
    const reply = await t.client.post(`/${webhook}`, body, {
      ...(contentType === undefined
        ? {}
        : { contentType: contentType === '' ? undefined : contentType }),
    });
    expect(statusOf(reply, 400)).toMatch(why);
    await stillServing();
  });
});

describe('request size', () => {
  it('takes Content-Type application/json with a charset', async () => {
    const reply = await t.client.post('/validate', text, {
      contentType: 'application/json; charset=utf-8',
    });
    expect(reply.status).toBe(200);
  });

  /** The ConfigMap example with a data value that brings the body to exactly `size` bytes. */
  function paddedTo(size: number, uid: string): string {
    const base = withUid(configMap.review, uid, (r) => {
      (
        (r.request.object as { data: Record<string, string> }).data as Record<string, string>
      ).padding = '';
    });
    const body = base.replace('"padding":""', `"padding":"${'x'.repeat(size - base.length)}"`);
    expect(Buffer.byteLength(body)).toBe(size);
    return body;
  }

  it('accepts a valid request just under 7 MiB and decides it as without the padding', async () => {
    const [small, large] = await Promise.all([
      t.client.post('/validate', paddedTo(4096, 'small')),
      t.client.post('/validate', paddedTo(MAX_BODY_BYTES - 512, 'large')),
    ]);
    expect(large.status).toBe(200);
    const answer = (reply: Reply) => (JSON.parse(reply.body) as AdmissionResponseJson).response;
    expect(answer(large)).toEqual({ ...answer(small), uid: 'large' });
    // The padding changes nothing: runc in the ConfigMap is still a downgrade of its pool.
    expect(answer(large).allowed).toBe(false);
    expect(answer(large).status?.message).toMatch(/^\[no-downgrade\] /);
    await stillServing();
  });

  it('accepts exactly 7 MiB', async () => {
    const reply = await t.client.post('/validate', paddedTo(MAX_BODY_BYTES, 'exact'));
    expect(reply.status).toBe(200);
  });

  it.each(['validate', 'mutate'])('answers 413 to a body over 7 MiB on /%s', async (webhook) => {
    const before = metric(await scrape(t.client), 'streamguard_admission_requests_total', {
      webhook,
      operation: 'unknown',
      outcome: 'error',
    });
    const reply = await t.client.post(`/${webhook}`, paddedTo(MAX_BODY_BYTES + 1, 'too-large'));
    expect(statusOf(reply, 413)).toBe(`request body larger than ${MAX_BODY_BYTES} bytes`);
    const after = metric(await scrape(t.client), 'streamguard_admission_requests_total', {
      webhook,
      operation: 'unknown',
      outcome: 'error',
    });
    expect(after).toBe((before ?? 0) + 1);
    await stillServing();
  });

  it('answers 413 to a chunked body over 7 MiB (no Content-Length to go by)', async () => {
    const reply = await t.client.post('/validate', paddedTo(MAX_BODY_BYTES + 1, 'chunked'), {
      chunkBytes: 64 * 1024,
    });
    expect(statusOf(reply, 413)).toBe(`request body larger than ${MAX_BODY_BYTES} bytes`);
    await stillServing();
  });

  it('takes a chunked body just under 7 MiB', async () => {
    const reply = await t.client.post('/validate', paddedTo(MAX_BODY_BYTES - 512, 'chunked-ok'), {
      chunkBytes: 64 * 1024,
    });
    expect(reply.status).toBe(200);
    expect((JSON.parse(reply.body) as AdmissionResponseJson).response.uid).toBe('chunked-ok');
  });

  it('is still healthy and ready after all of it', async () => {
    expect((await t.client.get('/healthz')).status).toBe(200);
    expect((await t.client.get('/readyz')).status).toBe(200);
    await stillServing();
  });
});
