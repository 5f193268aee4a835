// npm run bench:plan — what `streamguard plan` costs on a realistic release: requests by kind
// against the minimum a plan needs, wall time and peak RSS, cold and with a warm --cache-dir.
//
// Setup (not measured): Debian's docker-registry on loopback, the synthetic dual-stream
// 5.0.0-ec.2 release of test/registry-support/release-payload.ts pushed into it (185 components,
// three of them multi-arch indexes, two KubeVirt disks), and a proxy in front that holds every
// request BENCH_DELAY_MS (default 20 ms) before forwarding it, so request count and concurrency
// show in the wall time as they would against a remote registry. The payload names the proxy, so
// every request the planner makes goes through it and is counted there.
//
// Each run is the real CLI (`streamguard plan --kubevirt`, default concurrency 8 unless
// BENCH_CONCURRENCY) in a child process of its own (bench/plan-child.ts), so its peak RSS is the
// planner's. The second run reuses the first one's --cache-dir.

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RegistryClient } from '../src/registry/client.js';
import { startFaultProxy, type ProxyRecord } from '../test/registry-support/fault-proxy.js';
import { startRegistry } from '../test/registry-support/registry.js';
import { pushReleasePayload } from '../test/registry-support/release-payload.js';

const DELAY_MS = Number(process.env.BENCH_DELAY_MS ?? 20);
const CONCURRENCY = process.env.BENCH_CONCURRENCY;
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CHILD = fileURLToPath(new URL('./plan-child.ts', import.meta.url));

interface ChildResult {
  code: number;
  wallMs: number;
  rssBefore: number;
  peakSampled: number;
  maxRss: number;
}

interface Run {
  result: ChildResult;
  stdout: string;
  requests: ProxyRecord[];
  plan: Map<string, string>;
}

type Kind = 'ping' | 'token' | 'manifest' | 'blob' | 'other';
const KINDS: Kind[] = ['ping', 'token', 'manifest', 'blob', 'other'];

function kindOf(record: ProxyRecord): Kind {
  const path = record.path.split('?')[0] ?? '';
  if (path === '/v2/' || path === '/v2') return 'ping';
  if (path.includes('/manifests/')) return 'manifest';
  if (path.includes('/blobs/')) return 'blob';
  if (path.includes('token')) return 'token';
  return 'other';
}

function byKind(records: ProxyRecord[]): Record<Kind, number> {
  const counts: Record<Kind, number> = { ping: 0, token: 0, manifest: 0, blob: 0, other: 0 };
  for (const r of records) counts[kindOf(r)]++;
  return counts;
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

async function runPlan(
  args: string[],
  proxyRequests: ProxyRecord[],
  out: string,
  work: string,
): Promise<Run> {
  const resultFile = join(work, `result-${Date.now()}.json`);
  const before = proxyRequests.length;
  const { code, stdout, stderr } = await new Promise<{
    code: number | null;
    stdout: string;
    stderr: string;
  }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, resultFile, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let o = '';
    let e = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (o += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (e += d));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, stdout: o, stderr: e }));
  });
  if (code !== 0) throw new Error(`plan child exited ${String(code)}\n${stdout}\n${stderr}`);
  const result = JSON.parse(await readFile(resultFile, 'utf8')) as ChildResult;
  if (result.code !== 0) throw new Error(`streamguard plan exited ${result.code}\n${stderr}`);
  const plan = new Map<string, string>();
  for (const name of (await readdir(out)).sort()) {
    plan.set(name, await readFile(join(out, name), 'utf8'));
  }
  return { result, stdout, requests: proxyRequests.slice(before), plan };
}

const work = await mkdtemp(join(tmpdir(), 'sg-bench-plan-'));
const registry = await startRegistry();
const proxy = await startFaultProxy(registry.port);
try {
  const setupStart = performance.now();
  const pusher = new RegistryClient({ insecureRegistries: [registry.host], concurrency: 16 });
  const payload = await pushReleasePayload(pusher, registry.host, { referenceHost: proxy.host });
  await pusher.close();
  const setupMs = performance.now() - setupStart;
  proxy.requests.length = 0;
  proxy.addRule({ path: /./, fault: { kind: 'delay', ms: DELAY_MS } });

  // The minimum a plan of this release needs: one request per distinct manifest (the release
  // manifest, each component, the amd64 child of each multi-arch component, each KubeVirt disk),
  // one for the payload's last layer, and the auth handshake (/v2/ ping; no token here).
  const componentDigests = new Set(payload.components.map((c) => c.digest));
  const indexes = payload.components.filter((c) => c.archSizes !== undefined).length;
  const disks = Object.keys(payload.kubevirt).length;
  const minimum = {
    manifest: 1 + componentDigests.size + indexes + disks,
    blob: 1,
    ping: 1,
    token: 0,
  };
  const minimumTotal = minimum.manifest + minimum.blob + minimum.ping + minimum.token;

  const planArgs = (out: string, cacheDir: string) => [
    'plan',
    '--release',
    payload.release.pullspec,
    '--to',
    'mirror.example.com:5000/ocp',
    '--kubevirt',
    '--insecure-registry',
    proxy.host,
    '--cache-dir',
    cacheDir,
    '--out',
    out,
    ...(CONCURRENCY !== undefined ? ['--concurrency', CONCURRENCY] : []),
  ];
  // Each round: a cold run with a new cache directory, then a warm run reusing it.
  const colds: Run[] = [];
  const warms: Run[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const cacheDir = join(work, `cache-${round}`);
    const coldOut = join(work, `plan-cold-${round}`);
    const warmOut = join(work, `plan-warm-${round}`);
    colds.push(await runPlan(planArgs(coldOut, cacheDir), proxy.requests, coldOut, work));
    warms.push(await runPlan(planArgs(warmOut, cacheDir), proxy.requests, warmOut, work));
  }
  const cold = colds[0] as Run;
  const warm = warms[0] as Run;
  const sameCounts = (runs: Run[]) =>
    runs.every((r) => r.requests.length === runs[0]?.requests.length);
  const median = (runs: Run[], pick: (r: ChildResult) => number) => {
    const values = runs.map((r) => pick(r.result)).sort((a, b) => a - b);
    return values[Math.floor(values.length / 2)] ?? 0;
  };
  const max = (runs: Run[], pick: (r: ChildResult) => number) =>
    Math.max(...runs.map((r) => pick(r.result)));

  const images = (
    JSON.parse(cold.plan.get('images.json') ?? '{}') as { images: { kind: string }[] }
  ).images;
  const perKind = new Map<string, number>();
  for (const i of images) perKind.set(i.kind, (perKind.get(i.kind) ?? 0) + 1);
  const identical = [...colds, ...warms].every(
    (run) =>
      run.plan.size === cold.plan.size &&
      [...cold.plan].every(([name, text]) => run.plan.get(name) === text),
  );

  const coldKinds = byKind(cold.requests);
  const warmKinds = byKind(warm.requests);
  const ratio = cold.requests.length / minimumTotal;
  // Ping, release manifest and last layer come one after the other; then the component and disk
  // manifests go `concurrency` at a time.
  const concurrency = Number(CONCURRENCY ?? 8);
  const floorMs = DELAY_MS * (3 + Math.ceil((coldKinds.manifest - 1) / concurrency));
  const row = (label: string, ...cells: string[]) =>
    `  ${label.padEnd(22)}${cells.map((c, i) => c.padStart(i === 2 ? 17 : 12)).join('')}`;
  const lines: string[] = [];
  lines.push(
    `release ${payload.release.pullspec}: ${payload.components.length} components ` +
      `(${indexes} multi-arch indexes), ${disks} KubeVirt disks`,
    `plan: ${images.length} images (${[...perKind].map(([k, n]) => `${n} ${k}`).join(', ')}), ` +
      `files: ${[...cold.plan.keys()].join(', ')}`,
    `registry: Debian docker-registry on loopback behind a proxy adding ${DELAY_MS} ms to every ` +
      `request; client concurrency ${CONCURRENCY ?? '8 (default)'}; setup (push) ${(setupMs / 1000).toFixed(1)} s`,
    '',
    row('', 'cold cache', 'warm cache', 'minimum (cold)'),
  );
  for (const kind of KINDS) {
    const min = kind === 'other' ? 0 : minimum[kind];
    if (coldKinds[kind] === 0 && warmKinds[kind] === 0 && min === 0) continue;
    lines.push(row(kind, String(coldKinds[kind]), String(warmKinds[kind]), String(min)));
  }
  lines.push(
    row('total', String(cold.requests.length), String(warm.requests.length), String(minimumTotal)),
    row(
      'wall time (s), median',
      (median(colds, (r) => r.wallMs) / 1000).toFixed(2),
      (median(warms, (r) => r.wallMs) / 1000).toFixed(2),
    ),
    row('peak RSS (MB), max', mb(max(colds, (r) => r.maxRss)), mb(max(warms, (r) => r.maxRss))),
    row(
      'RSS before plan (MB)',
      mb(median(colds, (r) => r.rssBefore)),
      mb(median(warms, (r) => r.rssBefore)),
    ),
    `  (${ROUNDS} rounds; wall times cold ${colds.map((r) => (r.result.wallMs / 1000).toFixed(2)).join(', ')} s, ` +
      `warm ${warms.map((r) => (r.result.wallMs / 1000).toFixed(2)).join(', ')} s; request counts ` +
      `${sameCounts(colds) && sameCounts(warms) ? 'identical in every round' : 'DIFFER between rounds'})`,
    '',
    `cold requests / minimum: ${ratio.toFixed(2)}x (target <= 1.10x) ${ratio <= 1.1 ? 'OK' : 'OVER TARGET'}`,
    `cold wall time (median) vs the latency floor: ${(median(colds, (r) => r.wallMs) / 1000).toFixed(2)} s vs ${(floorMs / 1000).toFixed(2)} s ` +
      `(${DELAY_MS} ms x (3 sequential steps + ${coldKinds.manifest - 1} manifests / ${concurrency} in flight))`,
    `warm requests: ${warm.requests.length} for 1 release (target <= 3) ${warm.requests.length <= 3 ? 'OK' : 'OVER TARGET'}`,
    `plan files identical in every run, cold and warm: ${identical ? 'yes' : 'NO'}`,
    `streamguard plan's own count (cold): ${/^Requests: .*$/m.exec(cold.stdout)?.[0] ?? '(not printed)'}`,
    `streamguard plan's own count (warm): ${/^Requests: .*$/m.exec(warm.stdout)?.[0] ?? '(not printed)'}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await proxy.close();
  await registry.stop();
  await rm(work, { recursive: true, force: true });
}
