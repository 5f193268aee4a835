import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConfigMap, NodePool } from '../k8s/objects.js';
import { StateError } from './errors.js';
import { parseManifestBytes, parseManifests } from './parse.js';
import { describeObject, sourceOf } from './source.js';

const upstream = (name: string) =>
  readFileSync(new URL(`../../test/fixtures/upstream/${name}`, import.meta.url), 'utf8');

function parseError(text: string, source = 'f.yaml'): StateError {
  try {
    parseManifests(text, source);
  } catch (err) {
    expect(err).toBeInstanceOf(StateError);
    return err as StateError;
  }
  throw new Error('expected a StateError');
}

describe('parseManifests', () => {
  it('reads the upstream multi-document sample and skips its trailing empty document', () => {
    const objects = parseManifests(
      upstream('hypershift-sample-aws-hostedcluster-nodepool.yaml'),
      'sample.yaml',
    );
    expect(objects.map((o) => o.kind)).toEqual([
      'Namespace',
      'Secret',
      'HostedCluster',
      'NodePool',
    ]);
    const pool = objects[3] as NodePool;
    expect(pool.spec?.management?.upgradeType).toBe('Replace');
    expect(sourceOf(pool)).toEqual({ file: 'sample.yaml', document: 4 });
    expect(describeObject(pool)).toBe(
      'NodePool clusters/example-fakeName (sample.yaml: document 4)',
    );
  });

  it('reads the upstream boot images ConfigMap with its JSON-in-a-string data', () => {
    const [cm] = parseManifests(
      upstream('hypershift-fixture-5.0-coreos-bootimages-configmap.yaml'),
      'cm.yaml',
    ) as ConfigMap[];
    expect(cm?.data?.releaseVersion).toBe('5.0.0-ec.2');
    expect(Object.keys(JSON.parse(cm?.data?.streams ?? '{}') as object)).toEqual([
      'rhel-10',
      'rhel-9',
    ]);
  });

  it('unwraps kind: List and records each item as its own source', () => {
    const text = [
      'apiVersion: v1',
      'kind: List',
      'items:',
      '- {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: n}}',
      '- {apiVersion: v1, kind: ConfigMap, metadata: {name: b, namespace: n}}',
      '---',
      'apiVersion: v1',
      'kind: List',
      'items: []',
      '---',
      'apiVersion: v1',
      'kind: List',
    ].join('\n');
    const objects = parseManifests(text, 'list.yaml');
    expect(objects.map((o) => o.metadata?.name)).toEqual(['a', 'b']);
    expect(sourceOf(objects[1] as object)).toEqual({ file: 'list.yaml', document: 1, item: 2 });
    expect(describeObject(objects[1] as ConfigMap)).toBe(
      'ConfigMap n/b (list.yaml: document 1, item 2)',
    );
  });

  it('fills kind and apiVersion of typed list items the API leaves bare', () => {
    const text = JSON.stringify({
      apiVersion: 'hypershift.openshift.io/v1beta1',
      kind: 'NodePoolList',
      items: [{ metadata: { name: 'p', namespace: 'clusters' } }],
    });
    const [pool] = parseManifests(text, 'pools.json');
    expect(pool).toMatchObject({ apiVersion: 'hypershift.openshift.io/v1beta1', kind: 'NodePool' });
  });

  it('does not unwrap a kind that merely ends in List and has no items', () => {
    const [obj] = parseManifests('apiVersion: x.io/v1\nkind: AllowList\nspec: {}\n', 'f.yaml');
    expect(obj?.kind).toBe('AllowList');
  });

  it('rejects List items that are not objects, naming the document and item', () => {
    expect(parseError('apiVersion: v1\nkind: List\nitems: [{kind: ConfigMap}]\n').message).toBe(
      'f.yaml: document 1, item 1: apiVersion must be a non-empty string',
    );
    expect(parseError('apiVersion: v1\nkind: List\nitems: {}\n').message).toBe(
      'f.yaml: document 1: List: items must be a list',
    );
  });

  it('reads JSON, and rejects duplicate JSON keys with line and column', () => {
    const [cm] = parseManifests(
      '{"apiVersion": "v1", "kind": "ConfigMap", "data": {"a": "\\/x"}}',
      'cm.json',
    ) as ConfigMap[];
    expect(cm?.data).toEqual({ a: '/x' });
    const err = parseError('{\n  "kind": "ConfigMap",\n  "kind": "Secret"\n}', 'cm.json');
    expect(err.message).toBe('cm.json:3:3: Map keys must be unique');
  });

  it('requires every document to be a mapping with string kind and apiVersion', () => {
    expect(parseError('apiVersion: v1\nkind: Secret\n---\n- a\n- b\n').message).toBe(
      'f.yaml: document 2: expected a Kubernetes object (a mapping), found a list',
    );
    expect(parseError('apiVersion: v1\n').message).toBe(
      'f.yaml: document 1: kind must be a non-empty string',
    );
    expect(parseError('kind: Secret\napiVersion: 1\n').message).toBe(
      'f.yaml: document 1: apiVersion must be a non-empty string',
    );
    expect(parseError('just text').message).toBe(
      'f.yaml: document 1: expected a Kubernetes object (a mapping), found a string',
    );
  });

  it('checks metadata the way Kubernetes would', () => {
    expect(parseError('apiVersion: v1\nkind: Secret\nmetadata: [a]\n').message).toBe(
      'f.yaml: document 1: metadata must be a mapping',
    );
    expect(parseError('apiVersion: v1\nkind: Secret\nmetadata: {name: 3}\n').message).toBe(
      'f.yaml: document 1: metadata.name must be a string',
    );
    const unquoted = 'apiVersion: v1\nkind: Secret\nmetadata:\n  annotations:\n    a.io/x: true\n';
    expect(parseError(unquoted).message).toBe(
      'f.yaml: document 1: metadata.annotations["a.io/x"] must be a string (quote the value in YAML)',
    );
  });

  it('reports YAML syntax errors with file, line and column', () => {
    const err = parseError('apiVersion: v1\nkind: ConfigMap\ndata:\n  a: [1, 2\n', 'bad.yaml');
    expect(err.message).toMatch(/^bad\.yaml:5:1: /);
    expect(err.where).toBe('bad.yaml:5:1');
  });

  it('rejects duplicate keys', () => {
    const err = parseError('apiVersion: v1\nkind: ConfigMap\nkind: Secret\n');
    expect(err.message).toBe('f.yaml:3:1: Map keys must be unique');
  });

  it('rejects __proto__ keys without touching any prototype', () => {
    const texts = [
      'apiVersion: v1\nkind: ConfigMap\ndata:\n  __proto__:\n    polluted: "yes"\n',
      '{"apiVersion": "v1", "kind": "ConfigMap", "__proto__": {"polluted": "yes"}}',
      'apiVersion: v1\nkind: ConfigMap\nbase: &b {__proto__: {polluted: "yes"}}\ndata:\n  <<: *b\n',
    ];
    expect(texts.map((text) => parseError(text).message)).toEqual([
      'f.yaml: document 1: key "__proto__" is not allowed at data',
      'f.yaml: document 1: key "__proto__" is not allowed',
      'f.yaml: document 1: key "__proto__" is not allowed at base',
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('applies merge keys and unshares aliases', () => {
    const text = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: &m {name: a, namespace: n}',
      'data: {<<: {x: "1"}, y: "2"}',
      'other: *m',
    ].join('\n');
    const [obj] = parseManifests(text, 'f.yaml') as (ConfigMap & { other: unknown })[];
    expect(obj?.data).toEqual({ x: '1', y: '2' });
    expect(obj?.other).toEqual(obj?.metadata);
    expect(obj?.other).not.toBe(obj?.metadata);
  });

  it('rejects self-referencing aliases, alias bombs and non-JSON YAML types', () => {
    expect(parseError('apiVersion: v1\nkind: X\na: &x [*x]\n').message).toBe(
      'f.yaml: document 1: alias refers to itself at a.0',
    );
    const bomb = [
      'apiVersion: v1',
      'kind: X',
      'a: &a [x, x, x, x, x, x, x, x, x, x]',
      'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
      'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
    ].join('\n');
    expect(parseError(bomb).message).toMatch(/^f\.yaml: document 1: Excessive alias count/);
    expect(parseError('apiVersion: v1\nkind: X\nb: !!binary aGVsbG8=\n').message).toMatch(
      /^f\.yaml: document 1: YAML type .* is not JSON data at b$/,
    );
    expect(parseError('apiVersion: v1\nkind: X\nn: .inf\n').message).toBe(
      'f.yaml: document 1: Infinity is not a JSON number at n',
    );
  });

  it('never throws anything but StateError, whatever the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-ascii', maxLength: 200 }), (text) => {
        try {
          parseManifests(text, 'p.yaml');
        } catch (err) {
          return err instanceof StateError;
        }
        return true;
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.constantFrom(
            'apiVersion: v1\n',
            'kind: List\n',
            'items:\n',
            '- ',
            '  ',
            '---\n',
            '{',
            '}',
            '[',
            ']',
            ': ',
            '&a ',
            '*a',
            '<<: ',
            '__proto__',
            '"',
            "'",
            '\t',
            '\n',
            'metadata:',
            '!!binary ',
            '%YAML 1.1\n',
            'kind: ConfigMap\n',
            'null',
            '#',
            '? ',
            '|\n',
            '\u0000',
            '\uFEFF',
          ),
          { maxLength: 40 },
        ),
        (parts) => {
          try {
            parseManifests(parts.join(''), 'p.yaml');
          } catch (err) {
            return err instanceof StateError;
          }
          return true;
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('parseManifestBytes', () => {
  it('rejects text that is not UTF-8, naming the line', () => {
    const bytes = Buffer.concat([
      Buffer.from('apiVersion: v1\nkind: ConfigMap\ndata:\n  a: "'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"\n'),
    ]);
    expect(() => parseManifestBytes(bytes, 'latin.yaml')).toThrow(
      new StateError('latin.yaml', 'line 4: not valid UTF-8 text'),
    );
  });

  it('accepts UTF-8 with a byte order mark', () => {
    const bytes = Buffer.from('\uFEFFapiVersion: v1\nkind: ConfigMap\ndata: {a: "é"}\n');
    expect(parseManifestBytes(bytes, 'bom.yaml')).toEqual([
      { apiVersion: 'v1', kind: 'ConfigMap', data: { a: 'é' } },
    ]);
  });
});
