// Fuzzes policy loading: the shipped policies/default.yaml, mutated as data and written back as
// YAML or JSON, plus text-level YAML attacks (alias bombs, tags, merge keys, duplicate keys) and
// byte damage. Every input must load or fail with a PolicyError naming the file; no prototype
// may change.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse } from 'yaml';
import { loadPolicyFile } from '../../src/policy/file.js';
import { parsePolicyBytes, PolicyError } from '../../src/policy/load.js';
import { CONFIGURABLE_RULES } from '../../src/policy/types.js';
import { repoText } from './support/corpus.js';
import {
  byteMutationArb,
  mutate,
  mutateBytes,
  mutationArb,
  serialize,
  type Json,
  yamlOrJson,
} from './support/mutate.js';
import { Outcomes, runProperty, type FuzzReport, type FuzzRun } from './support/run.js';
import { loadsOrFailsTyped } from './support/typed-error.js';

const DEFAULT = repoText(new URL('../../policies/default.yaml', import.meta.url));

/** Text-level YAML that a data mutation cannot produce. */
const YAML_ATTACKS = [
  // Billion laughs: aliases expanded geometrically.
  `a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\nspec: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n`,
  `apiVersion: streamguard.io/v1alpha1\nkind: StreamPolicy\nspec: !!js/function "function () { return 1 }"\n`,
  `apiVersion: streamguard.io/v1alpha1\nkind: StreamPolicy\nspec:\n  <<: {__proto__: {polluted: true}}\n`,
  `apiVersion: streamguard.io/v1alpha1\nkind: StreamPolicy\nkind: StreamPolicy\n`,
  `apiVersion: streamguard.io/v1alpha1\nkind: StreamPolicy\nspec: &s\n  self: *s\n`,
  `? [a, b]\n: c\n`,
  `apiVersion: streamguard.io/v1alpha1\nkind: StreamPolicy\nspec:\n  rhel10MinimumRelease: 5.10\n  rules: {constructor: {prototype: {polluted: true}}}\n`,
  `%YAML 1.1\n---\nyes: no\n`,
  `--- a\n--- b\n`,
  `\uFEFFapiVersion: streamguard.io/v1alpha1\nkind: StreamPolicy\n`,
];

interface Case {
  form: 'yaml' | 'json' | 'attack';
  mutations: Parameters<typeof mutate>[1];
  attack: number;
  damage: Parameters<typeof mutateBytes>[1] | null;
  viaFile: boolean;
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  form: fc.constantFrom<Case['form']>('yaml', 'yaml', 'json', 'attack'),
  mutations: fc.array(mutationArb(50_000, 3_000), { maxLength: 4 }),
  attack: fc.nat(YAML_ATTACKS.length - 1),
  damage: fc.oneof(
    { weight: 4, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: byteMutationArb },
  ),
  viaFile: fc.oneof(
    { weight: 19, arbitrary: fc.constant(false) },
    { weight: 1, arbitrary: fc.constant(true) },
  ),
});

function textOf(c: Case): Buffer {
  let text: string;
  if (c.form === 'attack') text = YAML_ATTACKS[c.attack] ?? '';
  else {
    const doc = mutate(parse(DEFAULT) as Json, c.mutations);
    // JSON is YAML: the deep-nesting cases only exist in the JSON form.
    text = c.form === 'json' ? serialize(doc) : yamlOrJson(doc);
  }
  const bytes = Buffer.from(text);
  return c.damage ? mutateBytes(bytes, c.damage) : bytes;
}

export async function fuzzPolicy(run: FuzzRun): Promise<FuzzReport> {
  const dir = await mkdtemp(join(tmpdir(), 'streamguard-fuzz-policy-'));
  const outcomes = new Outcomes();
  const property = fc.asyncProperty(caseArb, async (c) => {
    const bytes = textOf(c);
    const source = c.viaFile ? join(dir, 'policy.yaml') : 'fuzz/policy.yaml';
    if (c.viaFile) await writeFile(source, bytes);
    const policy = await loadsOrFailsTyped(
      outcomes,
      () => (c.viaFile ? loadPolicyFile(source) : parsePolicyBytes(bytes, source)),
      [PolicyError],
      (err) => (err as PolicyError).problems.every((p) => p.startsWith(source)),
    );
    if (policy !== undefined) {
      // A loaded policy is complete: every configurable rule has an action.
      const actions = (policy as { actions: Record<string, unknown> }).actions;
      for (const rule of CONFIGURABLE_RULES)
        assert.ok(actions[rule] !== undefined, `no action for ${rule}`);
    }
  });
  try {
    return await runProperty('policy', run, property, outcomes);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
