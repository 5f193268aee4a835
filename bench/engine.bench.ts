// npm run bench:engine — cost of one admission decision for a typical NodePool UPDATE, against a
// baseline measured in the same run: a bare JSON parse + serialize of the same AdmissionReview
// (the least any webhook must do). Prints figures and the ratio; asserts nothing.
import { readFileSync } from 'node:fs';
import { parseAdmissionReviewText } from '../src/admission/parse.js';
import { admissionResponse } from '../src/admission/response.js';
import { decide } from '../src/engine/decide.js';
import type { DecisionContext } from '../src/engine/types.js';
import { defaultPolicy } from '../src/policy/load.js';
import { loadState } from '../src/state/load.js';
import { crioDropInMachineConfig } from '../test/support/world.js';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 20_000);
const WARMUP = 2_000;

const root = new URL('../', import.meta.url);
const state = await loadState(new URL('examples/state', root).pathname);

// Typical UPDATE: HostedCluster present, two config ConfigMaps (a ContainerRuntimeConfig and a
// MachineConfig with a CRI-O drop-in), dual-stream 5.0 release data; the user scales the pool.
const extra = [
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'workers-machineconfig', namespace: 'clusters' },
    data: {
      config: crioDropInMachineConfig(
        '99-worker-crio',
        'crun',
        '/etc/crio/crio.conf.d/99-crun',
        'base64',
      ),
    },
  },
];
const ctx: DecisionContext = {
  policy: defaultPolicy(),
  releases: state.releases,
  cluster: state.cluster.withOverlay(extra),
};

const review = JSON.parse(
  readFileSync(new URL('examples/requests/nodepool-scale.json', root), 'utf8'),
) as {
  request: {
    object: { spec: { config: { name: string }[] } };
    oldObject: { spec: { config: { name: string }[] } };
  };
};
for (const obj of [review.request.object, review.request.oldObject]) {
  obj.spec.config = [{ name: 'workers-runtime' }, { name: 'workers-machineconfig' }];
}
const body = JSON.stringify(review);

function baseline(): string {
  return JSON.stringify(JSON.parse(body));
}

function decision(): string {
  const request = parseAdmissionReviewText(body, 'bench');
  return JSON.stringify(admissionResponse(request.uid, decide(request, ctx, 'validate')));
}

function measure(fn: () => string): { perSecond: number; medianUs: number; p99Us: number } {
  for (let i = 0; i < WARMUP; i++) fn();
  const samples = new Float64Array(ITERATIONS);
  const start = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) {
    const t = process.hrtime.bigint();
    fn();
    samples[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  const total = Number(process.hrtime.bigint() - start) / 1e9;
  samples.sort();
  return {
    perSecond: ITERATIONS / total,
    medianUs: samples[Math.floor(ITERATIONS / 2)] ?? 0,
    p99Us: samples[Math.floor(ITERATIONS * 0.99)] ?? 0,
  };
}

// The first decision parses the ConfigMaps' YAML and the release's stream metadata; later ones
// find them in the content-keyed caches.
const coldStart = process.hrtime.bigint();
const check = JSON.parse(decision()) as { response: { allowed: boolean } };
const coldUs = Number(process.hrtime.bigint() - coldStart) / 1000;
if (!check.response.allowed) throw new Error('benchmark request should be allowed');

// Interleave rounds so drift on a noisy machine hits both sides alike.
const rounds = 3;
const base: ReturnType<typeof measure>[] = [];
const engine: ReturnType<typeof measure>[] = [];
for (let r = 0; r < rounds; r++) {
  base.push(measure(baseline));
  engine.push(measure(decision));
}
const best = (xs: ReturnType<typeof measure>[]) =>
  xs.reduce((a, b) => (b.medianUs < a.medianUs ? b : a));
const b = best(base);
const e = best(engine);
const fmt = (n: number) => n.toFixed(1).padStart(9);
console.log(
  `AdmissionReview body: ${body.length} bytes; ${ITERATIONS} iterations x ${rounds} rounds (best round shown)`,
);
console.log('                               per second   median µs   p99 µs');
console.log(
  `baseline (JSON parse+stringify) ${fmt(b.perSecond)} ${fmt(b.medianUs)} ${fmt(b.p99Us)}`,
);
console.log(
  `decision (parse+decide+respond) ${fmt(e.perSecond)} ${fmt(e.medianUs)} ${fmt(e.p99Us)}`,
);
const ratio = e.medianUs / b.medianUs;
console.log(
  `ratio decision/baseline (median): ${ratio.toFixed(2)}x (target <= 2.00x) ${ratio <= 2 ? 'OK' : 'OVER TARGET'}`,
);
console.log(`ratio decision/baseline (p99):    ${(e.p99Us / b.p99Us).toFixed(2)}x`);
console.log(
  `first decision, cold caches (YAML, TOML and stream metadata parsed): ${coldUs.toFixed(0)} µs`,
);
