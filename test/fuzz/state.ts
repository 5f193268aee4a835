// Fuzzes offline state directories: copies of examples/state and test/fixtures/state/aws-5.0 with
// one document of one file mutated (written back as YAML or JSON, sometimes wrapped in a List or
// damaged at the byte level). Every directory loads or fails with a StateError naming the file;
// a loaded state lets the engine decide every example request without throwing.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { parseAdmissionReviewText } from '../../src/admission/parse.js';
import { decide } from '../../src/engine/decide.js';
import { defaultPolicy } from '../../src/policy/load.js';
import { StateError } from '../../src/state/errors.js';
import { loadStateDir, type LoadedState } from '../../src/state/load.js';
import { exampleRequests } from '../server/support.js';
import {
  byteMutationArb,
  mutate,
  mutateBytes,
  mutationArb,
  serialize,
  type ByteMutation,
  type Json,
  type Mutation,
  yamlOrJson,
} from './support/mutate.js';
import { Outcomes, runProperty, type FuzzReport, type FuzzRun } from './support/run.js';
import { loadsOrFailsTyped } from './support/typed-error.js';

const SEEDS = ['../../examples/state/', '../fixtures/state/aws-5.0/'].map((p) =>
  fileURLToPath(new URL(p, import.meta.url)),
);

interface SeedFile {
  dir: string;
  /** Relative to its state directory. */
  path: string;
  docs: Json[];
}

async function seedFiles(): Promise<SeedFile[]> {
  const files: SeedFile[] = [];
  for (const dir of SEEDS) {
    // The files the loader itself reads (it skips dotfiles and other extensions).
    for (const file of (await loadStateDir(dir)).files) {
      const docs = parseAllDocuments(await readFile(file, 'utf8')).map((d) => d.toJS() as Json);
      files.push({ dir, path: relative(dir, file), docs });
    }
  }
  return files;
}

interface Case {
  file: number;
  doc: number;
  mutations: Mutation[];
  form: 'yaml' | 'json' | 'list';
  damage: ByteMutation | null;
}

function caseArb(files: number): fc.Arbitrary<Case> {
  return fc.record({
    file: fc.noBias(fc.nat(files - 1)),
    doc: fc.noBias(fc.nat()),
    mutations: fc.array(mutationArb(50_000, 3_000), { minLength: 1, maxLength: 4 }),
    form: fc.constantFrom<Case['form']>('yaml', 'yaml', 'json', 'list'),
    damage: fc.oneof(
      { weight: 6, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: byteMutationArb },
    ),
  });
}

function fileText(seed: SeedFile, c: Case): Buffer {
  const docs = seed.docs.map((d, i) =>
    i === c.doc % seed.docs.length ? mutate(d, c.mutations) : d,
  );
  let text: string;
  if (c.form === 'list') text = serialize({ apiVersion: 'v1', kind: 'List', items: docs });
  else if (c.form === 'json') text = docs.map(serialize).join('\n---\n');
  else text = docs.map(yamlOrJson).join('---\n');
  const bytes = Buffer.from(text);
  return c.damage ? mutateBytes(bytes, c.damage) : bytes;
}

export async function fuzzState(run: FuzzRun): Promise<FuzzReport> {
  const seeds = await seedFiles();
  const requests = exampleRequests().map((r) => parseAdmissionReviewText(r.text, r.file));
  const policy = defaultPolicy();
  const root = await mkdtemp(join(tmpdir(), 'streamguard-fuzz-state-'));
  const outcomes = new Outcomes();
  let n = 0;
  const property = fc.asyncProperty(caseArb(seeds.length), async (c) => {
    const seed = seeds[c.file] as SeedFile;
    const dir = join(root, String(n++));
    await cp(seed.dir, dir, { recursive: true });
    const target = join(dir, seed.path);
    await writeFile(target, fileText(seed, c));
    try {
      const state = (await loadsOrFailsTyped(
        outcomes,
        () => loadStateDir(dir),
        [StateError],
        (e) => e.message.includes(dir),
      )) as LoadedState | undefined;
      if (!state) return;
      const context = { policy, releases: state.releases, cluster: state.cluster };
      for (const request of requests) {
        for (const webhook of ['validate', 'mutate'] as const) {
          const d = decide(request, context, webhook);
          assert.equal(typeof d.allowed, 'boolean');
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  try {
    return await runProperty('state', run, property, outcomes);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
