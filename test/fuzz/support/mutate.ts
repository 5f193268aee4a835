// Structure-aware mutations of real JSON documents: the fuzzers start from fixtures that reach deep
// code (a NodePool UPDATE, a dual-stream boot image ConfigMap) and break one place at a time, so
// most cases get past the first `typeof` check instead of dying at the door.
import fc from 'fast-check';
import { stringify } from 'yaml';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = (string | number)[];

/** Strings the domain branches on: a mutation that writes one of these takes a new branch. */
export const DOMAIN_STRINGS = [
  'rhel-9',
  'rhel-10',
  'rhel-8',
  '',
  'InPlace',
  'Replace',
  'runc',
  'crun',
  'CREATE',
  'UPDATE',
  'DELETE',
  'CONNECT',
  'NodePool',
  'ConfigMap',
  'HostedCluster',
  'hypershift.openshift.io',
  'v1beta1',
  'AWS',
  'KubeVirt',
  'Agent',
  'None',
  'x86_64',
  'aarch64',
  'amd64',
  'arm64',
  's390x',
  '5.0',
  '4.99',
  'quay.io/openshift-release-dev/ocp-release:5.0.0-ec.2-x86_64',
  'quay.io/openshift-release-dev/ocp-release:4.17.0-x86_64',
  'quay.io/openshift-release-dev/ocp-release@sha256:' + '0'.repeat(64),
  'sha256:' + 'a'.repeat(64),
  'data:,%5Bcrio.runtime%5D%0Adefault_runtime%20%3D%20%22runc%22',
  '/etc/crio/crio.conf.d/99-runtime.conf',
  'streamguard.io/exempt',
  'no-downgrade,runtime',
  'us-east-1',
  'toString',
  '__proto__',
  '\u0000',
  '\uD800',
  'é'.repeat(3),
];

/** Keys that try to reach Object.prototype through a careless merge or lookup. */
export const HOSTILE_KEYS = ['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toJSON'];

export type Mutation =
  | { op: 'delete'; at: number }
  | { op: 'replace'; at: number; value: Json }
  | { op: 'domain'; at: number; value: string }
  | { op: 'huge'; at: number; length: number; char: string }
  | { op: 'deep'; at: number; depth: number; array: boolean }
  | { op: 'hostile'; at: number; key: string; value: Json }
  | { op: 'duplicate'; at: number; to: number };

export function mutationArb(hugeMax = 200_000, deepMax = 5_000): fc.Arbitrary<Mutation> {
  // Unbiased: fast-check favours small numbers, which would keep hitting the envelope's root.
  const at = fc.noBias(fc.nat());
  return fc.oneof(
    { weight: 3, arbitrary: fc.record({ op: fc.constant('delete' as const), at }) },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('replace' as const),
        at,
        value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
      }),
    },
    {
      weight: 6,
      arbitrary: fc.record({
        op: fc.constant('domain' as const),
        at,
        value: fc.constantFrom(...DOMAIN_STRINGS),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('huge' as const),
        at,
        length: fc.integer({ min: 1_000, max: hugeMax }),
        char: fc.constantFrom('a', 'é', '\u{1F600}', '"', '\\', '\n'),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('deep' as const),
        at,
        depth: fc.integer({ min: 10, max: deepMax }),
        array: fc.boolean(),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('hostile' as const),
        at,
        key: fc.constantFrom(...HOSTILE_KEYS),
        value: fc.oneof(
          fc.constant({ polluted: true } as Json),
          fc.jsonValue({ maxDepth: 1 }) as fc.Arbitrary<Json>,
        ),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ op: fc.constant('duplicate' as const), at, to: fc.noBias(fc.nat()) }),
    },
  );
}

const MAX_WALK_DEPTH = 64;

/** Every node's path, the root first, in document order. */
export function pathsOf(value: Json, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  // Below this depth only deep-nesting cases go; walking them whole would cost O(depth²).
  if (prefix.length >= MAX_WALK_DEPTH) return out;
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...prefix, i], out));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, k], out);
  return out;
}

function get(root: Json, path: Path): Json {
  let node: Json = root;
  for (const step of path) node = (node as Record<string | number, Json>)[step] as Json;
  return node;
}

/** Sets an own property, even `__proto__`, as JSON.parse would have created it. */
function setOwn(target: object, key: string | number, value: Json): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

// Deep nesting is written into the text, not built as objects: JSON.stringify itself recurses and
// would overflow before the code under test ever saw the document.
const DEEP = /"\uE000deep:(\d+):([ao])"/g;

function deep(depth: number, array: boolean): Json {
  return `\uE000deep:${depth}:${array ? 'a' : 'o'}`;
}

/** Applies mutations to a deep copy; the document given is untouched. */
export function mutate(doc: Json, mutations: readonly Mutation[]): Json {
  let root = structuredClone(doc);
  for (const m of mutations) {
    const paths = pathsOf(root);
    const path = paths[m.at % paths.length] ?? [];
    const replacement = valueFor(m, root, paths);
    if (m.op === 'hostile') {
      const target = get(root, path);
      if (target !== null && typeof target === 'object' && !Array.isArray(target))
        setOwn(target, m.key, structuredClone(m.value));
      else root = { [m.key]: root };
      continue;
    }
    if (path.length === 0) {
      root = m.op === 'delete' ? null : (replacement ?? null);
      continue;
    }
    const parent = get(root, path.slice(0, -1)) as Record<string | number, Json> | Json[];
    const key = path[path.length - 1] as string | number;
    if (m.op === 'delete') {
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else Reflect.deleteProperty(parent, key);
    } else setOwn(parent, key, replacement ?? null);
  }
  return root;
}

function valueFor(m: Mutation, root: Json, paths: Path[]): Json | undefined {
  switch (m.op) {
    case 'replace':
      return structuredClone(m.value);
    case 'domain':
      return m.value;
    case 'huge':
      return m.char.repeat(m.length);
    case 'deep':
      return deep(m.depth, m.array);
    case 'duplicate':
      return structuredClone(get(root, paths[m.to % paths.length] ?? []));
    default:
      return undefined;
  }
}

export type ByteMutation =
  | { op: 'truncate'; at: number }
  | { op: 'invalid-utf8'; at: number; bytes: number[] }
  | { op: 'flip'; at: number; byte: number };

export const byteMutationArb: fc.Arbitrary<ByteMutation> = fc.oneof<fc.Arbitrary<ByteMutation>[]>(
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('invalid-utf8' as const),
    at: fc.nat(),
    // A stray continuation byte, an overlong '/', a lone surrogate, a truncated 3-byte sequence.
    bytes: fc.constantFrom<number[]>(
      [0xff],
      [0x80],
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xe2, 0x82],
    ),
  }),
  fc.record({
    op: fc.constant('flip' as const),
    at: fc.nat(),
    byte: fc.integer({ min: 0, max: 255 }),
  }),
);

/** Byte-level damage on serialized text: what a broken proxy or a torn write produces. */
export function mutateBytes(bytes: Buffer, m: ByteMutation): Buffer {
  const at = bytes.length === 0 ? 0 : m.at % bytes.length;
  switch (m.op) {
    case 'truncate':
      return bytes.subarray(0, at);
    case 'invalid-utf8':
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(m.bytes), bytes.subarray(at)]);
    case 'flip': {
      const copy = Buffer.from(bytes);
      if (copy.length > 0) copy[at] = m.byte;
      return copy;
    }
  }
}

export function serialize(doc: Json): string {
  return (JSON.stringify(doc) ?? 'null').replace(DEEP, (_m, depth: string, kind: string) => {
    const n = Number(depth);
    return kind === 'a'
      ? `${'['.repeat(n)}"bottom"${']'.repeat(n)}`
      : `${'{"d":'.repeat(n)}"bottom"${'}'.repeat(n)}`;
  });
}

/**
 * A document as YAML text, or as one line of JSON where the mutation made it something yaml cannot
 * write (deep nesting); either way ending in a newline, so documents join with `---`.
 */
export function yamlOrJson(doc: Json): string {
  try {
    return stringify(doc);
  } catch {
    return `${serialize(doc)}\n`;
  }
}
