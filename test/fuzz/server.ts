// Fuzzes the running webhook over real HTTPS on loopback: mutated AdmissionReviews (from real
// requests), byte-level damage and junk. Every answer must be a well-formed AdmissionReview v1
// equal to what the engine decides for the same bytes, or a 4xx Kubernetes Status; never a 5xx.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { AdmissionInputError } from '../../src/admission/errors.js';
import { parseAdmissionReviewBytes } from '../../src/admission/parse.js';
import { admissionResponse, WARNING_LIMIT } from '../../src/admission/response.js';
import { decide, type Webhook } from '../../src/engine/decide.js';
import { MAX_BODY_BYTES } from '../../src/server/app.js';
import { createLogger } from '../../src/server/logger.js';
import { exampleRequest, startTestServer, type Reply, type TestServer } from '../server/support.js';
import { admissionCorpus } from './support/corpus.js';
import {
  byteMutationArb,
  mutate,
  mutateBytes,
  mutationArb,
  serialize,
  type ByteMutation,
  type Json,
  type Mutation,
} from './support/mutate.js';
import { Outcomes, runProperty, type FuzzReport, type FuzzRun } from './support/run.js';

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'Application/JSON'];
const OTHER_TYPES = ['text/plain', 'application/yaml', 'application/jsonx', ''];

interface Case {
  webhook: Webhook;
  seed: number;
  mutations: Mutation[];
  damage: ByteMutation | null;
  junk: Uint8Array | string | null;
  contentType: string;
  oversize: boolean;
  /** Sent with Transfer-Encoding: chunked in pieces of this size, instead of Content-Length. */
  chunkBytes: number | null;
}

/** `arb` about once in `every` cases, null otherwise. */
function rarely<T>(arb: fc.Arbitrary<T>, every: number): fc.Arbitrary<T | null> {
  return fc.oneof(
    { weight: every - 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: arb },
  );
}

function caseArb(corpusSize: number): fc.Arbitrary<Case> {
  return fc.record({
    webhook: fc.constantFrom<Webhook>('validate', 'mutate'),
    seed: fc.noBias(fc.nat(corpusSize - 1)),
    mutations: fc.array(mutationArb(200_000, 10_000), { maxLength: 3 }),
    damage: rarely(byteMutationArb, 6),
    junk: rarely(
      fc.oneof(fc.uint8Array({ maxLength: 512 }), fc.string({ maxLength: 200 }), fc.json()),
      12,
    ),
    contentType: fc.oneof(
      { weight: 30, arbitrary: fc.constantFrom(...JSON_TYPES) },
      { weight: 1, arbitrary: fc.constantFrom(...OTHER_TYPES) },
    ),
    // A few bodies past the 7 MiB limit: a 413, whatever they hold.
    // At least 256 bytes a piece: a 7 MiB body in 1-byte writes would take minutes.
    chunkBytes: rarely(fc.integer({ min: 256, max: 65_536 }), 10),
    oversize: fc.oneof(
      { weight: 500, arbitrary: fc.constant(false) },
      { weight: 1, arbitrary: fc.constant(true) },
    ),
  });
}

function bodyOf(c: Case, corpus: Json[]): Buffer {
  if (c.junk !== null) return Buffer.from(c.junk);
  const doc = mutate(corpus[c.seed] ?? null, c.mutations);
  let bytes: Buffer = Buffer.from(serialize(doc));
  if (c.damage) bytes = mutateBytes(bytes, c.damage);
  // Trailing spaces: still the same JSON, but one byte past the limit.
  if (c.oversize) {
    const padding = Buffer.alloc(Math.max(1, MAX_BODY_BYTES + 1 - bytes.length), 0x20);
    bytes = Buffer.concat([bytes, padding]);
  }
  return bytes;
}

/** A 4xx answer: a Kubernetes Status whose code is the HTTP status. Returns its message. */
function assertStatus(reply: Reply, code: number): string {
  assert.equal(
    reply.status,
    code,
    `expected ${code}, got ${reply.status}: ${reply.body.slice(0, 300)}`,
  );
  assert.match(String(reply.headers['content-type']), /^application\/json\b/);
  const body = JSON.parse(reply.body) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ['apiVersion', 'code', 'kind', 'message', 'status']);
  assert.equal(body.kind, 'Status');
  assert.equal(body.apiVersion, 'v1');
  assert.equal(body.status, 'Failure');
  assert.equal(body.code, code);
  assert.equal(typeof body.message, 'string');
  return body.message as string;
}

/** A 200 answer: the AdmissionReview v1 shape the API server checks (VerifyAdmissionResponse). */
function assertReview(reply: Reply, uid: string, webhook: Webhook): Record<string, unknown> {
  assert.equal(reply.status, 200, `expected 200, got ${reply.status}: ${reply.body.slice(0, 300)}`);
  const review = JSON.parse(reply.body) as {
    apiVersion: string;
    kind: string;
    response: Record<string, unknown>;
  };
  assert.equal(review.apiVersion, 'admission.k8s.io/v1');
  assert.equal(review.kind, 'AdmissionReview');
  const r = review.response;
  assert.equal(r.uid, uid, 'response.uid must equal request.uid');
  assert.equal(typeof r.allowed, 'boolean');
  if (r.allowed === false) {
    const status = r.status as { code: number; message: string };
    assert.ok(status.code >= 400 && typeof status.message === 'string');
  }
  for (const w of (r.warnings as string[] | undefined) ?? [])
    assert.ok(w.length <= WARNING_LIMIT, `warning over ${WARNING_LIMIT} chars: ${w}`);
  if (webhook === 'validate') {
    assert.equal(r.patch, undefined, 'a validating response carries no patch');
    assert.equal(r.patchType, undefined);
  } else {
    assert.equal(r.allowed, true, 'the mutating webhook never denies');
    assert.equal(
      r.patch === undefined,
      r.patchType === undefined,
      'patch and patchType go together',
    );
    if (r.patch !== undefined) {
      assert.equal(r.patchType, 'JSONPatch');
      const ops = JSON.parse(Buffer.from(r.patch as string, 'base64').toString('utf8')) as unknown;
      assert.ok(Array.isArray(ops) && ops.length > 0, 'a patch is a non-empty JSON array');
    }
  }
  return review as unknown as Record<string, unknown>;
}

/** Error lines only; decision lines are counted, not kept (100,000 cases would fill memory). */
function errorLogSink(): { stream: Writable; errors: string[] } {
  const errors: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line === '') continue;
        const { level } = JSON.parse(line) as { level: number };
        if (level >= 50) errors.push(line.slice(0, 2000));
      }
      done();
    },
  });
  return { stream, errors };
}

export async function fuzzServer(run: FuzzRun): Promise<FuzzReport> {
  const corpus = admissionCorpus();
  const sink = errorLogSink();
  const crashes: string[] = [];
  const onCrash = (err: unknown) => crashes.push(String((err as Error)?.stack ?? err));
  process.on('unhandledRejection', onCrash);
  process.on('uncaughtExceptionMonitor', onCrash);
  const t: TestServer = await startTestServer({ logger: createLogger('info', sink.stream) });
  const context = t.running.source.current();
  assert.ok(context, 'the server has its context loaded');
  const outcomes = new Outcomes();

  const decideNow = (bytes: Buffer, webhook: Webhook) => {
    const request = parseAdmissionReviewBytes(bytes, 'AdmissionReview');
    return JSON.parse(
      JSON.stringify(admissionResponse(request.uid, decide(request, context, webhook))),
    ) as unknown;
  };

  // On a fresh stack, as the server decides: deep inside the property runner the engine would
  // reach the stack limit earlier than the server does, and the two could disagree.
  const expected = (bytes: Buffer, webhook: Webhook) =>
    new Promise<unknown>((resolve, reject) =>
      setImmediate(() => {
        try {
          resolve(decideNow(bytes, webhook));
        } catch (err) {
          reject(err as Error);
        }
      }),
    );

  const property = fc.asyncProperty(caseArb(corpus.length), async (c) => {
    const bytes = bodyOf(c, corpus);
    const reply = await t.client.post(`/${c.webhook}`, bytes, {
      contentType: c.contentType === '' ? undefined : c.contentType,
      ...(c.chunkBytes === null ? {} : { chunkBytes: c.chunkBytes }),
    });
    outcomes.add(String(reply.status));
    assert.ok(
      reply.status < 500,
      `5xx for a client's input: ${reply.status} ${reply.body.slice(0, 300)}`,
    );
    if (!JSON_TYPES.includes(c.contentType)) return void assertStatus(reply, 400);
    if (bytes.length > MAX_BODY_BYTES) return void assertStatus(reply, 413);
    let want: unknown;
    try {
      want = await expected(bytes, c.webhook);
    } catch (err) {
      if (!(err instanceof AdmissionInputError)) throw err;
      assert.equal(assertStatus(reply, 400), err.message);
      return;
    }
    const uid = (JSON.parse(bytes.toString('utf8')) as { request: { uid: string } }).request.uid;
    assert.deepEqual(
      assertReview(reply, uid, c.webhook),
      want,
      "the answer is the engine's decision",
    );
  });

  try {
    const report = await runProperty('server', run, property, outcomes);
    // Still serving right answers, and nothing failed behind the scenes.
    const good = exampleRequest('nodepool-release-flip.json');
    const reply = await t.client.post('/validate', good.text);
    assert.deepEqual(
      assertReview(reply, good.review.request.uid, 'validate'),
      await expected(Buffer.from(good.text), 'validate'),
    );
    assert.equal((await t.client.get('/healthz')).status, 200);
    assert.deepEqual(sink.errors, [], 'no request failed inside the server');
    assert.deepEqual(crashes, [], 'no unhandled rejection or exception');
    return report;
  } finally {
    process.off('unhandledRejection', onCrash);
    process.off('uncaughtExceptionMonitor', onCrash);
    await t.close();
  }
}
