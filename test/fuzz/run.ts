// The long fuzz run: `npm run fuzz` (100,000 webhook cases, proportionate counts for the others).
//   npm run fuzz -- [--cases N] [--seed S] [--minutes M] [--only server,policy,state,metadata,registry]
// --cases sets the webhook's count; the others scale from it. Every harness stops after its count
// or its share of the time bound, whichever comes first, and prints its figures. A failure prints
// the seed and path that replay it, and the exit code is 1.
import { parseArgs } from 'node:util';
import { fuzzMetadata } from './metadata.js';
import { fuzzPolicy } from './policy.js';
import { fuzzRegistry } from './registry.js';
import { fuzzServer } from './server.js';
import { fuzzState } from './state.js';
import { formatReport, type FuzzReport, type FuzzRun } from './support/run.js';

/** Each harness's cases per webhook case, and its share of the time bound. */
const HARNESSES: Record<
  string,
  { run: (r: FuzzRun) => Promise<FuzzReport>; ratio: number; share: number }
> = {
  server: { run: fuzzServer, ratio: 1, share: 0.4 },
  policy: { run: fuzzPolicy, ratio: 0.5, share: 0.1 },
  metadata: { run: fuzzMetadata, ratio: 0.5, share: 0.1 },
  state: { run: fuzzState, ratio: 0.1, share: 0.2 },
  registry: { run: fuzzRegistry, ratio: 0.1, share: 0.2 },
};

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`--${name}: expected a positive integer, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return n;
}

const { values } = parseArgs({
  options: {
    cases: { type: 'string' },
    seed: { type: 'string' },
    minutes: { type: 'string' },
    only: { type: 'string' },
  },
});
const cases = positive('cases', values.cases, 100_000);
const seed = positive('seed', values.seed, Date.now() % 2 ** 31);
const minutes = positive('minutes', values.minutes, 30);
const only = values.only?.split(',') ?? Object.keys(HARNESSES);
for (const name of only) {
  if (!HARNESSES[name]) {
    console.error(`--only: unknown harness ${name}; known: ${Object.keys(HARNESSES).join(', ')}`);
    process.exit(2);
  }
}

console.log(`fuzz: seed ${seed}, ${cases} webhook cases, at most ${minutes} min`);
let failed = false;
for (const name of only) {
  const h = HARNESSES[name];
  if (!h) continue;
  const run = {
    cases: Math.max(1, Math.round(cases * h.ratio)),
    seed,
    timeLimitMs: minutes * 60_000 * h.share,
  };
  try {
    console.log(formatReport(await h.run(run)));
  } catch (err) {
    failed = true;
    console.error((err as Error).message);
  }
}
process.exit(failed ? 1 : 0);
