// npm run bench:webhook — the whole webhook over loopback TLS (`startServer`: node:https, express,
// admit, metrics, pino logs at the production 'info' level written to /dev/null) against a floor
// measured in the same run: a bare node:https server with the same TLS settings and certificate
// that reads the body and answers with the same, precomputed AdmissionReview bytes. The load
// driver runs in a forked child process (bench/webhook-load.ts) and times each request from its
// side; everything stays on 127.0.0.1. Prints figures and ratios; asserts nothing.
import { execFileSync, fork } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import type { LevelWithSilent } from 'pino';
import type { ExitMessage, RunMessage, RunResult } from './webhook-load.js';

// The harness's own footprint (node + tsx), before the webhook's modules load.
const rssAtStart = process.memoryUsage().rss;
const { createLogger } = await import('../src/server/logger.js');
const { KEEP_ALIVE_TIMEOUT_MS, startServer } = await import('../src/server/serve.js');
const { secureContextOptions } = await import('../src/tls/options.js');

const HOST = '127.0.0.1';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const ROUNDS = Math.max(1, Math.floor(Number(process.env.BENCH_ROUNDS ?? 2)));
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,8,32')
  .split(',')
  .map((c) => Math.floor(Number(c.trim())))
  .filter((c) => c > 0 && c <= 256);
const LOG_LEVEL = (process.env.BENCH_LOG_LEVEL ?? 'info') as LevelWithSilent;
const WEBHOOK = process.env.BENCH_WEBHOOK === 'mutate' ? 'mutate' : 'validate';
const REQUEST_FILE = 'examples/requests/nodepool-scale.json';

const TARGET_THROUGHPUT = 0.7;
const TARGET_P99 = 2.0;
const TARGET_RSS_MB = 150;

if (!(SECONDS > 0 && SECONDS <= 60) || !(WARMUP_SECONDS >= 0 && WARMUP_SECONDS <= 10)) {
  throw new Error('BENCH_SECONDS must be in (0, 60] and BENCH_WARMUP_SECONDS in [0, 10]');
}
if (CONCURRENCY.length === 0) throw new Error('BENCH_CONCURRENCY: no concurrency in 1..256');

const root = new URL('../', import.meta.url);
// Compact, as the API server sends it (Go's encoding/json); the file is pretty-printed.
const parsed = JSON.parse(readFileSync(new URL(REQUEST_FILE, root), 'utf8')) as {
  request: { uid: string };
};
const body = Buffer.from(JSON.stringify(parsed));
const uid = parsed.request.uid;

// --- servers --------------------------------------------------------------------------------

// Production logs at 'info' to stdout; here the same logger writes to /dev/null, so formatting
// and writing each decision line stay part of the cost.
const logSink = '/dev/null';
const real = await startServer({
  host: HOST,
  port: 0,
  statePath: fileURLToPath(new URL('examples/state', root)),
  tls: { selfSigned: { sans: [] } },
  deadlineMs: 2000,
  drainMs: 0,
  logger: createLogger(LOG_LEVEL, logSink),
});
const pair = real.reloader.current();
if (!pair || !real.caPath) throw new Error('the webhook started without its self-signed pair');
// The pair's directory (with its private key) goes away however the bench ends.
const tlsDir = dirname(real.caPath);
process.once('exit', () => rmSync(tlsDir, { recursive: true, force: true }));
const caPem = readFileSync(real.caPath, 'utf8');

// Verify before measuring: the real server answers 200 with a valid AdmissionReview for this
// request. Its body becomes the floor's canned answer, and the bytes every response must match.
const probe = await post(real.port, body);
if (probe.status !== 200) {
  throw new Error(`webhook answered HTTP ${probe.status}: ${probe.body.toString('utf8')}`);
}
const review = JSON.parse(probe.body.toString('utf8')) as {
  apiVersion?: unknown;
  kind?: unknown;
  response?: { uid?: unknown; allowed?: unknown; warnings?: unknown[] };
};
if (
  review.apiVersion !== 'admission.k8s.io/v1' ||
  review.kind !== 'AdmissionReview' ||
  review.response?.uid !== uid ||
  typeof review.response.allowed !== 'boolean'
) {
  throw new Error(`webhook answer is not a valid AdmissionReview: ${probe.body.toString('utf8')}`);
}
const expectedBody = probe.body;

const floor = https.createServer(
  { ...secureContextOptions(pair), maxHeaderSize: 16 * 1024 },
  (req, res) => {
    req.on('data', () => undefined);
    req.on('end', () => {
      res.writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Length': expectedBody.length,
      });
      res.end(expectedBody);
    });
  },
);
floor.keepAliveTimeout = real.server.keepAliveTimeout;
floor.headersTimeout = real.server.headersTimeout;
floor.requestTimeout = real.server.requestTimeout;
await new Promise<void>((resolve) => floor.listen(0, HOST, resolve));
const floorPort = (floor.address() as AddressInfo).port;
const floorProbe = await post(floorPort, body);
if (floorProbe.status !== 200 || !floorProbe.body.equals(expectedBody)) {
  throw new Error('floor server does not return the webhook answer');
}
if (real.server.keepAliveTimeout !== KEEP_ALIVE_TIMEOUT_MS) {
  throw new Error('webhook keepAliveTimeout is not KEEP_ALIVE_TIMEOUT_MS');
}

// Peak RSS of this (the server) process, sampled through the run.
let peakRss = process.memoryUsage().rss;
const rssBeforeLoad = peakRss;
let pointPeakRss = 0;
const sampler = setInterval(() => {
  const now = process.memoryUsage().rss;
  peakRss = Math.max(peakRss, now);
  pointPeakRss = Math.max(pointPeakRss, now);
}, 100);

// --- load driver ----------------------------------------------------------------------------

const child = fork(fileURLToPath(new URL('./webhook-load.ts', import.meta.url)), [], {
  execArgv: ['--import', 'tsx'],
  serialization: 'advanced',
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
const childExited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
let nextId = 0;

function requestBytes(port: number): Buffer {
  const head =
    `POST /${WEBHOOK}?timeout=10s HTTP/1.1\r\n` +
    `Host: ${HOST}:${port}\r\n` +
    'User-Agent: kube-apiserver-admission\r\n' +
    'Content-Type: application/json\r\n' +
    'Accept: application/json, */*\r\n' +
    'Accept-Encoding: gzip\r\n' +
    `Content-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

function drive(port: number, concurrency: number, seconds: number): Promise<RunResult> {
  const id = nextId++;
  const msg: RunMessage = {
    type: 'run',
    id,
    port,
    concurrency,
    seconds,
    request: requestBytes(port),
    expectedBody,
    caPem,
  };
  return new Promise((resolve, reject) => {
    const onMessage = (result: RunResult) => {
      if (result.id !== id) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(result);
    };
    const onExit = () => reject(new Error('load driver exited during a run'));
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.send(msg);
  });
}

// --- measurement ----------------------------------------------------------------------------

type Side = 'floor' | 'real';
const port: Record<Side, number> = { floor: floorPort, real: real.port };

interface Point {
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
  errorSamples: string[];
  rssMb: number;
  peakRssMb: number;
  /** CPU time per completed request, µs: this (server) process and the client process. */
  serverCpuUs: number;
  clientCpuUs: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

const mb = (bytes: number) => bytes / 1024 / 1024;
const results = new Map<number, Record<Side, Point>>();
const started = performance.now();

for (const [i, concurrency] of CONCURRENCY.entries()) {
  // Warm up both servers at this concurrency (JIT, caches, connection setup), then alternate
  // floor and real for ROUNDS rounds (ABBA...) so slow drift on the machine hits both alike.
  if (WARMUP_SECONDS > 0) {
    for (const side of ['floor', 'real'] as const) {
      await drive(port[side], concurrency, WARMUP_SECONDS);
    }
  }
  const runs: Record<Side, RunResult[]> = { floor: [], real: [] };
  const rss: Record<Side, number> = { floor: 0, real: 0 };
  const serverCpu: Record<Side, number> = { floor: 0, real: 0 };
  const peak: Record<Side, number> = { floor: 0, real: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    const order: Side[] = (round + i) % 2 === 0 ? ['floor', 'real'] : ['real', 'floor'];
    for (const side of order) {
      const cpuBefore = process.cpuUsage();
      pointPeakRss = 0;
      runs[side].push(await drive(port[side], concurrency, SECONDS / ROUNDS));
      const cpu = process.cpuUsage(cpuBefore);
      serverCpu[side] += cpu.user + cpu.system;
      rss[side] = process.memoryUsage().rss;
      peakRss = Math.max(peakRss, rss[side]);
      peak[side] = Math.max(peak[side], pointPeakRss, rss[side]);
    }
  }
  const point = (side: Side): Point => {
    const rs = runs[side];
    const completed = rs.reduce((n, r) => n + r.completed, 0);
    const all = new Float64Array(completed);
    let at = 0;
    for (const r of rs) {
      all.set(r.latenciesMs, at);
      at += r.latenciesMs.length;
    }
    all.sort();
    return {
      perSecond: completed / rs.reduce((s, r) => s + r.elapsedSeconds, 0),
      p50: percentile(all, 0.5),
      p99: percentile(all, 0.99),
      errors: rs.reduce((n, r) => n + r.errors, 0),
      errorSamples: [...new Set(rs.flatMap((r) => r.errorSamples))],
      rssMb: mb(rss[side]),
      peakRssMb: mb(peak[side]),
      serverCpuUs: serverCpu[side] / completed,
      clientCpuUs: rs.reduce((n, r) => n + r.cpuMicros, 0) / completed,
    };
  };
  results.set(concurrency, { floor: point('floor'), real: point('real') });
}
const totalSeconds = (performance.now() - started) / 1000;
clearInterval(sampler);

// --- report ---------------------------------------------------------------------------------

const verdict = (ok: boolean) => (ok ? 'OK' : 'OVER TARGET');
const num = (n: number, width: number, digits = 2) => n.toFixed(digits).padStart(width);
console.log(
  `POST /${WEBHOOK} with ${REQUEST_FILE} (compact, ${body.length} bytes) -> 200, ` +
    `${expectedBody.length}-byte AdmissionReview (allowed: ${String(review.response.allowed)}, ` +
    `warnings: ${review.response.warnings?.length ?? 0})`,
);
console.log(
  `loopback TLS (${probe.protocol}, ${probe.cipher}), keep-alive, 1 request in flight per connection; ` +
    `logs: pino '${LOG_LEVEL}' to /dev/null`,
);
console.log(
  `client (forked child) and servers (this process) share ${cpus().length} cores; ` +
    `${SECONDS} s per point (${ROUNDS} alternating rounds) after ${WARMUP_SECONDS} s warmup each; ` +
    `measured in ${totalSeconds.toFixed(0)} s`,
);
console.log('');
console.log(
  '                                                     server RSS MB   CPU µs per request',
);
console.log('conc  server      req/s    p50 ms    p99 ms  errors  after   peak    server   client');
for (const [concurrency, r] of results) {
  for (const side of ['floor', 'real'] as const) {
    const p = r[side];
    console.log(
      `${String(concurrency).padStart(4)}  ${side.padEnd(6)} ${num(p.perSecond, 10, 0)} ` +
        `${num(p.p50, 9)} ${num(p.p99, 9)} ${String(p.errors).padStart(7)} ` +
        `${num(p.rssMb, 6, 1)} ${num(p.peakRssMb, 6, 1)} ` +
        `${num(p.serverCpuUs, 9, 0)} ${num(p.clientCpuUs, 8, 0)}`,
    );
  }
}
console.log('');
console.log('conc  throughput real/floor (target >= 0.70)   p99 real/floor (target <= 2.00)');
let errorsSeen = false;
for (const [concurrency, r] of results) {
  const tput = r.real.perSecond / r.floor.perSecond;
  const p99 = r.real.p99 / r.floor.p99;
  console.log(
    `${String(concurrency).padStart(4)}  ${num(tput, 6)}x ${verdict(tput >= TARGET_THROUGHPUT).padEnd(30)}` +
      `${num(p99, 6)}x ${verdict(p99 <= TARGET_P99)}`,
  );
  for (const side of ['floor', 'real'] as const) {
    if (r[side].errors > 0) {
      errorsSeen = true;
      console.log(`      ${side} errors: ${r[side].errorSamples.join('; ')}`);
    }
  }
}
const memory = process.memoryUsage();
// What tsx and the bench add: a bare node's RSS at startup against this process's at its start.
const printRss = 'process.stdout.write(String(process.memoryUsage().rss))';
const bareNodeRss = Number(execFileSync(process.execPath, ['-e', printRss], { encoding: 'utf8' }));
const harness = Math.max(0, rssAtStart - bareNodeRss);
console.log(
  `peak RSS of the server process: ${mb(peakRss).toFixed(1)} MB (target < ${TARGET_RSS_MB} MB) ` +
    `${verdict(mb(peakRss) < TARGET_RSS_MB)}`,
);
console.log(
  `  RSS at bench start (node + tsx): ${mb(rssAtStart).toFixed(1)} MB; both servers up, before ` +
    `load: ${mb(rssBeforeLoad).toFixed(1)} MB; at the end: ${mb(memory.rss).toFixed(1)} MB ` +
    `(V8 heap ${mb(memory.heapUsed).toFixed(1)} used of ${mb(memory.heapTotal).toFixed(1)}, ` +
    `external ${mb(memory.external).toFixed(1)})`,
);
console.log(
  `  tsx and the bench harness add about ${mb(harness).toFixed(0)} MB (bare node starts at ` +
    `${mb(bareNodeRss).toFixed(1)} MB): peak without them ~${mb(peakRss - harness).toFixed(0)} MB`,
);
if (errorsSeen) console.log('ERRORS: some requests failed; the figures above are not valid');

// --- teardown -------------------------------------------------------------------------------

child.send({ type: 'exit' } satisfies ExitMessage);
await childExited;
floor.closeAllConnections();
await new Promise<void>((resolve) => floor.close(() => resolve()));
await real.drain();


interface Answer {
  status: number;
  body: Buffer;
  protocol: string;
  cipher: string;
}

/** One request on a fresh connection (for the checks before measuring). */
function post(toPort: number, payload: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: HOST,
        port: toPort,
        method: 'POST',
        path: `/${WEBHOOK}?timeout=10s`,
        ca: caPem,
        agent: false,
        timeout: 5_000,
        headers: { 'Content-Type': 'application/json', 'Content-Length': payload.length },
      },
      (res) => {
        const socket = res.socket as TLSSocket;
        const protocol = socket.getProtocol() ?? '?';
        const cipher = socket.getCipher().name;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), protocol, cipher });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}
