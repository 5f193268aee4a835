import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { AdmissionRequestLike } from '../engine/types.js';
import { isObject } from '../k8s/objects.js';
import { AdmissionInputError } from './errors.js';
import {
  parseAdmissionReview,
  parseAdmissionReviewBytes,
  parseAdmissionReviewText,
} from './parse.js';

const REQUESTS = new URL('../../examples/requests/', import.meta.url);
const EXAMPLE_FILES = readdirSync(REQUESTS).filter((f) => f.endsWith('.json'));

type Json = Record<string, unknown>;

function example(name: string): Json {
  return JSON.parse(readFileSync(new URL(name, REQUESTS), 'utf8')) as Json;
}

/** A copy of an example review with `change` applied to it (and to its `request`). */
function review(name: string, change: (review: Json, request: Json) => void): Json {
  const copy = structuredClone(example(name));
  change(copy, copy.request as Json);
  return copy;
}

function inputError(run: () => unknown): AdmissionInputError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(AdmissionInputError);
    return err as AdmissionInputError;
  }
  throw new Error('expected an AdmissionInputError');
}

const UPDATE = 'nodepool-downgrade-inplace.json';
const CREATE = 'nodepool-create.json';

describe('parseAdmissionReviewText and parseAdmissionReviewBytes: unreadable bodies', () => {
  it('reports text that is not JSON, with the position of the problem', () => {
    const err = inputError(() => parseAdmissionReviewText('{x', 'req.json'));
    expect(err.where).toBe('req.json');
    expect(err.message).toMatch(/^req\.json: not JSON: .*position 1\b/);

    // A missing comma: the position is where the next property starts.
    const late = '{"apiVersion": "admission.k8s.io/v1" "kind": "AdmissionReview"}';
    const at = late.indexOf('"kind"');
    expect(inputError(() => parseAdmissionReviewText(late, 'req.json')).detail).toMatch(
      new RegExp(`^not JSON: .*position ${at}\\b`),
    );
  });

  it('reports a truncated body and an empty one as not JSON', () => {
    for (const text of ['{"apiVersion": ', '', '   ']) {
      const err = inputError(() => parseAdmissionReviewText(text, '(stdin)'));
      expect(err.where).toBe('(stdin)');
      expect(err.detail).toMatch(/^not JSON: /);
    }
  });

  it.each([
    ['a lone 0xff byte', [0x7b, 0xff, 0x7d]],
    ['a truncated two-byte sequence', [0x7b, 0x22, 0xc3, 0x22, 0x7d]],
    ['an overlong encoding of "/"', [0x7b, 0xc0, 0xaf, 0x7d]],
    ['an encoded UTF-16 surrogate (CESU-8)', [0x7b, 0xed, 0xa0, 0x80, 0x7d]],
    ['Latin-1 text', [...Buffer.from('{"name": "caf', 'latin1'), 0xe9, 0x22, 0x7d]],
  ])('rejects bytes that are not UTF-8: %s', (_what, bytes) => {
    const err = inputError(() => parseAdmissionReviewBytes(Uint8Array.from(bytes), 'req.json'));
    expect(err.where).toBe('req.json');
    expect(err.detail).toMatch(/not valid UTF-8/);
  });

  it('reads UTF-8 bytes, multi-byte characters included', () => {
    const body = review(UPDATE, (_r, req) => {
      (req.object as { metadata: Json }).metadata.annotations = { note: 'café ✓ 😀' };
    });
    const parsed = parseAdmissionReviewBytes(Buffer.from(JSON.stringify(body), 'utf8'), 'req');
    expect(parsed.object?.metadata?.annotations).toEqual({ note: 'café ✓ 😀' });
  });
});

describe('parseAdmissionReview: every malformed field is named', () => {
  const cases: [string, Json | unknown, string, RegExp][] = [
    ['an array instead of an object', [], '(root)', /expected a JSON object/],
    ['null', null, '(root)', /expected a JSON object/],
    ['a string', 'AdmissionReview', '(root)', /expected a JSON object/],
    [
      'an AdmissionReview v1beta1',
      review(UPDATE, (r) => (r.apiVersion = 'admission.k8s.io/v1beta1')),
      'apiVersion',
      /got "admission\.k8s\.io\/v1beta1".*admissionReviewVersions: \["v1"\]/,
    ],
    [
      'no apiVersion',
      review(UPDATE, (r) => delete r.apiVersion),
      'apiVersion',
      /expected "admission\.k8s\.io\/v1", got nothing/,
    ],
    [
      'another kind',
      review(UPDATE, (r) => (r.kind = 'ConversionReview')),
      'kind',
      /expected "AdmissionReview", got "ConversionReview"/,
    ],
    ['no request', review(UPDATE, (r) => delete r.request), 'request', /expected an object/],
    ['a request that is a list', review(UPDATE, (r) => (r.request = [])), 'request', /object/],
    ['no uid', review(UPDATE, (_r, q) => delete q.uid), 'request.uid', /non-empty string/],
    ['an empty uid', review(UPDATE, (_r, q) => (q.uid = '')), 'request.uid', /non-empty/],
    ['a numeric uid', review(UPDATE, (_r, q) => (q.uid = 42)), 'request.uid', /string/],
    ['no kind', review(UPDATE, (_r, q) => delete q.kind), 'request.kind', /group, version, kind/],
    ['a string kind', review(UPDATE, (_r, q) => (q.kind = 'NodePool')), 'request.kind', /object/],
    [
      'a numeric kind.group',
      review(UPDATE, (_r, q) => ((q.kind as Json).group = 1)),
      'request.kind.group',
      /expected a string/,
    ],
    [
      'no kind.version',
      review(UPDATE, (_r, q) => delete (q.kind as Json).version),
      'request.kind.version',
      /expected a string/,
    ],
    [
      'a null kind.kind',
      review(UPDATE, (_r, q) => ((q.kind as Json).kind = null)),
      'request.kind.kind',
      /expected a string/,
    ],
    [
      'an unknown operation',
      review(UPDATE, (_r, q) => (q.operation = 'PATCH')),
      'request.operation',
      /expected one of CREATE, UPDATE, DELETE, CONNECT, got "PATCH"/,
    ],
    [
      'a lower-case operation',
      review(UPDATE, (_r, q) => (q.operation = 'update')),
      'request.operation',
      /got "update"/,
    ],
    ['no operation', review(UPDATE, (_r, q) => delete q.operation), 'request.operation', /one of/],
    [
      'an object that is a list',
      review(UPDATE, (_r, q) => (q.object = [q.object])),
      'request.object',
      /expected an object or null/,
    ],
    [
      'an object that is a string',
      review(UPDATE, (_r, q) => (q.object = JSON.stringify(q.object))),
      'request.object',
      /expected an object or null/,
    ],
    [
      'an oldObject that is a number',
      review(UPDATE, (_r, q) => (q.oldObject = 7)),
      'request.oldObject',
      /expected an object or null/,
    ],
    [
      'an UPDATE without oldObject',
      review(UPDATE, (_r, q) => delete q.oldObject),
      'request.oldObject',
      /stored object on UPDATE/,
    ],
    [
      'an UPDATE with a null oldObject',
      review(UPDATE, (_r, q) => (q.oldObject = null)),
      'request.oldObject',
      /stored object on UPDATE/,
    ],
    [
      'an UPDATE without object',
      review(UPDATE, (_r, q) => (q.object = null)),
      'request.object',
      /object being updated/,
    ],
    [
      'a CREATE without object',
      review(CREATE, (_r, q) => delete q.object),
      'request.object',
      /object being created/,
    ],
    [
      'a numeric namespace',
      review(UPDATE, (_r, q) => (q.namespace = 3)),
      'request.namespace',
      /expected a string/,
    ],
    ['a list name', review(UPDATE, (_r, q) => (q.name = ['a'])), 'request.name', /string/],
    [
      'a string userInfo',
      review(UPDATE, (_r, q) => (q.userInfo = 'alice')),
      'request.userInfo',
      /expected an object/,
    ],
    [
      'a numeric userInfo.username',
      review(UPDATE, (_r, q) => ((q.userInfo as Json).username = 1)),
      'request.userInfo.username',
      /expected a string/,
    ],
    [
      'userInfo.groups that is a string',
      review(UPDATE, (_r, q) => ((q.userInfo as Json).groups = 'system:masters')),
      'request.userInfo.groups',
      /list of strings/,
    ],
    [
      'userInfo.groups holding a number',
      review(UPDATE, (_r, q) => ((q.userInfo as Json).groups = ['system:authenticated', 5])),
      'request.userInfo.groups',
      /list of strings/,
    ],
  ];

  it.each(cases)('%s', (_what, body, path, detail) => {
    for (const parse of [
      () => parseAdmissionReview(body, 'req.json'),
      () => parseAdmissionReviewText(JSON.stringify(body), 'req.json'),
    ]) {
      const err = inputError(parse);
      expect(err.where).toBe(`req.json: ${path}`);
      expect(err.detail).toMatch(detail);
      expect(err.message).toBe(`req.json: ${path}: ${err.detail}`);
    }
  });
});

describe('parseAdmissionReview: valid requests', () => {
  it('reads the fields the engine decides on from an example UPDATE', () => {
    const file = example(UPDATE);
    const request = file.request as Json;
    const parsed = parseAdmissionReviewText(JSON.stringify(file), UPDATE);
    // Exactly these fields: resource, requestKind, options and the like are not the engine's.
    expect(parsed).toEqual({
      uid: '0f4b2a8e-2c7d-4f3e-8a61-7d3c5e9b1a01',
      kind: { group: 'hypershift.openshift.io', version: 'v1beta1', kind: 'NodePool' },
      operation: 'UPDATE',
      namespace: 'clusters',
      name: 'workers-inplace',
      object: request.object,
      oldObject: request.oldObject,
      userInfo: {
        username: 'system:serviceaccount:openshift-gitops:argocd-application-controller',
        groups: ['system:serviceaccounts', 'system:authenticated'],
      },
      dryRun: false,
    });
    const pool = parsed.object as { spec: { osImageStream: { name: string } } };
    expect(pool.spec.osImageStream.name).toBe('rhel-9');
  });

  it('reads the core group of a ConfigMap review as the empty string', () => {
    const parsed = parseAdmissionReview(example('configmap-add-runc.json'), 'cm.json');
    expect(parsed.kind).toEqual({ group: '', version: 'v1', kind: 'ConfigMap' });
    expect(parsed.operation).toBe('UPDATE');
    expect(parsed.object?.kind).toBe('ConfigMap');
  });

  it('reads a CREATE, whose oldObject is null', () => {
    const parsed = parseAdmissionReview(example(CREATE), CREATE);
    expect(parsed.operation).toBe('CREATE');
    expect(parsed.oldObject).toBeNull();
    expect(parsed.object?.metadata?.name).toBe('gpu');
  });

  it.each(EXAMPLE_FILES)('parses examples/requests/%s', (name) => {
    const bytes = readFileSync(new URL(name, REQUESTS));
    expect(parseAdmissionReviewBytes(bytes, name).uid).toBe((example(name).request as Json).uid);
  });

  it('accepts a DELETE without object, and missing optional fields', () => {
    const body = review(UPDATE, (_r, q) => {
      q.operation = 'DELETE';
      q.object = null;
      delete q.userInfo;
      delete q.namespace;
      delete q.name;
      delete q.dryRun;
    });
    const parsed = parseAdmissionReview(body, 'req');
    expect(parsed.operation).toBe('DELETE');
    expect(parsed.object).toBeNull();
    expect(parsed.oldObject).toEqual((body.request as Json).oldObject);
    expect(parsed.userInfo).toBeUndefined();
    expect(parsed.namespace).toBeUndefined();
    expect(parsed.dryRun).toBe(false);
  });

  it('reads dryRun: true, and only the boolean true as a dry run', () => {
    const dry = (value: unknown) =>
      parseAdmissionReview(
        review(UPDATE, (_r, q) => (q.dryRun = value)),
        'req',
      ).dryRun;
    expect(dry(true)).toBe(true);
    expect(dry('true')).toBe(false);
    expect(dry(1)).toBe(false);
  });
});

describe('__proto__ keys', () => {
  afterEach(() => {
    // Undo any pollution so that one failure does not cascade into every later test.
    delete (Object.prototype as Record<string, unknown>).polluted;
    delete (Object.prototype as Record<string, unknown>).uid;
  });

  it('keeps a ConfigMap data key "__proto__" (legal in Kubernetes) as data, not as a prototype', () => {
    const text = JSON.stringify(example('configmap-add-runc.json')).replace(
      '"data":{',
      '"data":{"__proto__":"{\\"polluted\\":true}","constructor":"c",',
    );
    const parsed = parseAdmissionReviewText(text, 'cm.json');
    const data = (parsed.object as { data: Record<string, string> }).data;
    expect(Object.getPrototypeOf(data)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(data, '__proto__')?.value).toBe('{"polluted":true}');
    expect(Object.keys(data)).toEqual(['__proto__', 'constructor', 'config']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('never takes a field from a "__proto__" object, anywhere in the review', () => {
    const text = JSON.stringify(example(UPDATE))
      .replace('{', '{"__proto__":{"polluted":"root"},')
      .replace('"request":{', '"request":{"__proto__":{"polluted":"request","uid":"from-proto"},')
      .replace('"metadata":{', '"metadata":{"__proto__":{"polluted":"metadata"},');
    const parsed = parseAdmissionReviewText(text, 'req.json');
    expect(parsed.uid).toBe('0f4b2a8e-2c7d-4f3e-8a61-7d3c5e9b1a01');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(parsed.object?.metadata)).toBe(Object.prototype);

    // A uid only under __proto__ is no uid at all.
    const noUid = JSON.stringify(review(UPDATE, (_r, q) => delete q.uid)).replace(
      '"request":{',
      '"request":{"__proto__":{"uid":"from-proto"},',
    );
    expect(inputError(() => parseAdmissionReviewText(noUid, 'req.json')).where).toBe(
      'req.json: request.uid',
    );
    expect(({} as Record<string, unknown>).uid).toBeUndefined();
  });
});

describe('properties', () => {
  const OPERATIONS = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];

  /** What the engine may rely on in whatever the parser returns. */
  function checkRequest(r: AdmissionRequestLike): void {
    expect(typeof r.uid === 'string' && r.uid !== '').toBe(true);
    for (const field of ['group', 'version', 'kind'] as const) {
      expect(typeof r.kind[field]).toBe('string');
    }
    expect(OPERATIONS).toContain(r.operation);
    for (const value of [r.object, r.oldObject]) {
      expect(value === null || isObject(value)).toBe(true);
    }
    if (r.operation === 'CREATE' || r.operation === 'UPDATE') expect(isObject(r.object)).toBe(true);
    if (r.operation === 'UPDATE') expect(isObject(r.oldObject)).toBe(true);
    for (const value of [r.namespace, r.name, r.userInfo?.username]) {
      expect(value === undefined || typeof value === 'string').toBe(true);
    }
    const groups = r.userInfo?.groups;
    expect(groups === undefined || groups.every((g) => typeof g === 'string')).toBe(true);
    expect(typeof r.dryRun).toBe('boolean');
  }

  /** Parses, and says whether the outcome is a checked request or an AdmissionInputError. */
  function outcomeIsSound(parse: () => AdmissionRequestLike): void {
    let parsed: AdmissionRequestLike;
    try {
      parsed = parse();
    } catch (err) {
      expect(err).toBeInstanceOf(AdmissionInputError);
      // Every error names its place, starting with the source it was given.
      expect((err as AdmissionInputError).message.startsWith('p: ')).toBe(true);
      return;
    }
    checkRequest(parsed);
  }

  it('throws nothing but AdmissionInputError on arbitrary text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary' }), fc.json()), (text) => {
        outcomeIsSound(() => parseAdmissionReviewText(text, 'p'));
      }),
      { numRuns: 500 },
    );
  });

  it('throws nothing but AdmissionInputError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        outcomeIsSound(() => parseAdmissionReviewBytes(bytes, 'p'));
      }),
      { numRuns: 300 },
    );
  });

  it('throws nothing but AdmissionInputError on arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        outcomeIsSound(() => parseAdmissionReview(value, 'p'));
      }),
      { numRuns: 300 },
    );
  });

  // Fields of a valid review to overwrite or delete; nested paths reach into the request.
  const PATHS: readonly (readonly string[])[] = [
    ['apiVersion'],
    ['kind'],
    ['request'],
    ['request', 'uid'],
    ['request', 'kind'],
    ['request', 'kind', 'group'],
    ['request', 'kind', 'version'],
    ['request', 'kind', 'kind'],
    ['request', 'operation'],
    ['request', 'namespace'],
    ['request', 'name'],
    ['request', 'object'],
    ['request', 'oldObject'],
    ['request', 'object', 'metadata'],
    ['request', 'userInfo'],
    ['request', 'userInfo', 'username'],
    ['request', 'userInfo', 'groups'],
    ['request', 'dryRun'],
  ];

  function mutate(target: Json, path: readonly string[], value: unknown, remove: boolean): void {
    let node: unknown = target;
    for (const key of path.slice(0, -1)) {
      if (!isObject(node)) return;
      node = node[key];
    }
    const last = path[path.length - 1] as string;
    if (!isObject(node)) return;
    if (remove) Reflect.deleteProperty(node, last);
    else node[last] = structuredClone(value);
  }

  const mutation = fc.record({
    path: fc.constantFrom(...PATHS),
    value: fc.oneof(
      fc.jsonValue(),
      fc.anything(),
      fc.constantFrom('CREATE', 'UPDATE', 'DELETE', 'CONNECT', '', 'admission.k8s.io/v1', {}),
    ),
    remove: fc.boolean(),
  });

  it('throws nothing but AdmissionInputError, and returns only sound requests, on mutated reviews', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...EXAMPLE_FILES),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (name, mutations) => {
          const body = example(name);
          for (const m of mutations) mutate(body, m.path, m.value, m.remove);
          const text = JSON.stringify(body);
          outcomeIsSound(() => parseAdmissionReviewText(text, 'p'));
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('syntax errors never quote the body', () => {
  it('keeps the position and drops the excerpt V8 puts in its message', () => {
    const secret = 'sg-TOPSECRET-value';
    const body = `{"kind": "AdmissionReview", "token": ${secret}}`;
    const err = inputError(() => parseAdmissionReviewText(body, 'req'));
    // V8 gives this form no position: the message is just a syntax error, with nothing quoted.
    expect(err.message).toMatch(/not JSON: syntax error$/);
    expect(err.message).not.toContain('TOPSECRET');
  });
});

describe('errors describe what was received without quoting it whole', () => {
  const deep = (n: number) => `${'{"d":'.repeat(n)}0${'}'.repeat(n)}`;

  it('names a deeply nested value by its type instead of stringifying it (no stack overflow)', () => {
    const body = `{"kind":"AdmissionReview","apiVersion":${deep(50_000)}}`;
    const err = inputError(() => parseAdmissionReviewText(body, 'req'));
    expect(err.message).toBe(
      'req: apiVersion: expected "admission.k8s.io/v1", got an object (set admissionReviewVersions: ["v1"] in the webhook configuration)',
    );
  });

  it('quotes at most 100 characters of a long string and says how long it was', () => {
    const body = JSON.stringify({ kind: 'x'.repeat(1_000_000) });
    const err = inputError(() => parseAdmissionReviewText(body, 'req'));
    expect(err.message).toBe(
      `req: kind: expected "AdmissionReview", got "${'x'.repeat(100)}"… (1000000 characters)`,
    );
  });

  it('names lists, numbers, booleans and null as such', () => {
    const op = (value: unknown) =>
      inputError(() =>
        parseAdmissionReview(
          {
            kind: 'AdmissionReview',
            apiVersion: 'admission.k8s.io/v1',
            request: { uid: 'u', kind: { group: '', version: 'v1', kind: 'X' }, operation: value },
          },
          'req',
        ),
      ).detail;
    expect([[1], 7, true, null].map(op)).toEqual([
      'expected one of CREATE, UPDATE, DELETE, CONNECT, got a list',
      'expected one of CREATE, UPDATE, DELETE, CONNECT, got 7',
      'expected one of CREATE, UPDATE, DELETE, CONNECT, got true',
      'expected one of CREATE, UPDATE, DELETE, CONNECT, got null',
    ]);
  });
});
