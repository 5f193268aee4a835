// npm run bench:webhook — the whole webhook over loopback TLS against two floors measured in the
// same run, every server alone in its own child process on plain `node` (no tsx):
//   webhook      the compiled build's `startServer` (bench/webhook-server.mjs): node:https, admit,
//                metrics, pino at the production 'info' level through sonic-boom to /dev/null;
//   bare floor   node:https with the same TLS options, certificate files, timeouts and header
//                limit that reads the body and returns the webhook's answer, precomputed
//                (bench/webhook-floor.mjs bare): the floor the targets are set against;
//   parse floor  the same, plus `JSON.parse` of the body and `JSON.stringify` of a fixed response
//                object (bench/webhook-floor.mjs parse): the least any webhook that reads the
//                AdmissionReview in JS must do.
// The load driver is a forked child too (bench/webhook-load.ts): a closed loop at a few
// concurrencies, then an open loop at one fixed request rate for every server. Server CPU and GC
// pauses come from each server process itself around each run (bench/webhook-usage.mjs, over
// IPC), the webhook's RSS from its `process.memoryUsage()` every 200 ms. Everything stays on
// 127.0.0.1. Prints figures and ratios; asserts only that every answer is the expected one (the
// exit code is 1 when a request failed).
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import type {
  ConnectedMessage,
  DriverMessage,
  ExitMessage,
  RunMessage,
  RunResult,
} from './webhook-load.js';

const HOST = '127.0.0.1';
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const ROUNDS = Math.max(1, Math.floor(Number(process.env.BENCH_ROUNDS ?? 2)));
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,8,32')
  .split(',')
  .map((c) => Math.floor(Number(c.trim())))
  .filter((c) => c > 0 && c <= 256);
const OPEN_SECONDS = Number(process.env.BENCH_OPEN_SECONDS ?? 12);
const OPEN_ROUNDS = Math.max(1, Math.floor(Number(process.env.BENCH_OPEN_ROUNDS ?? 4)));
const OPEN_CONNECTIONS = Math.floor(Number(process.env.BENCH_OPEN_CONNECTIONS ?? 16));
/** Open-loop rate as a fraction of the webhook's closed-loop saturation (concurrency 8). */
const OPEN_LOAD = Number(process.env.BENCH_OPEN_LOAD ?? 0.5);
/** Open-loop rate in requests per second; overrides BENCH_OPEN_LOAD. */
const OPEN_RATE = process.env.BENCH_OPEN_RATE ? Number(process.env.BENCH_OPEN_RATE) : undefined;
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';
const WEBHOOK = process.env.BENCH_WEBHOOK === 'mutate' ? 'mutate' : 'validate';
const REQUEST_FILE = 'examples/requests/nodepool-scale.json';
const SATURATION_CONCURRENCY = 8;
const RSS_SAMPLE_MS = 200;

const TARGET_THROUGHPUT = 0.7;
const TARGET_P99 = 2.0;
const TARGET_RSS_MB = 150;

if (!(SECONDS > 0 && SECONDS <= 60) || !(WARMUP_SECONDS >= 0 && WARMUP_SECONDS <= 10)) {
  throw new Error('BENCH_SECONDS must be in (0, 60] and BENCH_WARMUP_SECONDS in [0, 10]');
}
if (CONCURRENCY.length === 0) throw new Error('BENCH_CONCURRENCY: no concurrency in 1..256');
if (!(OPEN_SECONDS >= 0 && OPEN_SECONDS <= 60)) throw new Error('BENCH_OPEN_SECONDS: 0..60');
if (!(OPEN_CONNECTIONS >= 1 && OPEN_CONNECTIONS <= 256)) {
  throw new Error('BENCH_OPEN_CONNECTIONS: 1..256');
}
if (OPEN_RATE !== undefined && !(OPEN_RATE > 0 && OPEN_RATE <= 1e6)) {
  throw new Error('BENCH_OPEN_RATE: requests per second in (0, 1e6]');
}
if (!(OPEN_LOAD > 0 && OPEN_LOAD <= 2)) throw new Error('BENCH_OPEN_LOAD: a fraction in (0, 2]');
if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(LOG_LEVEL)) {
  throw new Error(`BENCH_LOG_LEVEL: not a pino level: ${LOG_LEVEL}`);
}

const root = new URL('../', import.meta.url);
// Compact, as the API server sends it (Go's encoding/json); the file is pretty-printed.
const parsed = JSON.parse(readFileSync(new URL(REQUEST_FILE, root), 'utf8')) as {
  request: { uid: string };
};
const body = Buffer.from(JSON.stringify(parsed));
const uid = parsed.request.uid;
const loadAtStart = loadavg();

// --- child processes ------------------------------------------------------------------------

// The self-signed pair (with its private key) and every child go away however the bench ends.
const tlsDir = mkdtempSync(join(tmpdir(), 'streamguard-bench-tls-'));
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  }
  rmSync(tlsDir, { recursive: true, force: true });
});
process.once('SIGINT', () => process.exit(130));

interface HttpLimits {
  keepAliveTimeout: number;
  headersTimeout: number;
  requestTimeout: number;
  maxHeaderSize: number;
}

interface Ready {
  type: 'ready';
  port: number;
  caPath?: string;
  certPath?: string;
  keyPath?: string;
  http: HttpLimits;
  node: string;
  execArgv: string[];
  nodeOptions: string;
}

/** From bench/webhook-usage.mjs. */
interface Usage {
  type: 'usage';
  id: number;
  cpuMicros: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  gcCount: number;
  gcMillis: number;
}

const mb = (bytes: number) => bytes / 1024 / 1024;

/** A server in its own `node` process (no tsx), with usage (CPU, memory) on request over IPC. */
class ServerProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<Ready>;
  peakRss = 0;
  firstRss = 0;
  last: Usage | undefined;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve(u: Usage): void; reject(e: Error): void }>();
  private exited = false;

  constructor(
    readonly label: string,
    script: string,
    args: string[],
  ) {
    const child = fork(fileURLToPath(new URL(script, import.meta.url)), args, {
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child = child;
    children.add(child);
    this.ready = new Promise((resolve, reject) => {
      child.on('message', (msg: Ready | Usage) => {
        if (msg.type === 'ready') resolve(msg);
        else this.onUsage(msg);
      });
      child.once('exit', (code, signal) => {
        this.exited = true;
        const err = new Error(`${label} process exited (${signal ?? code})`);
        reject(err);
        for (const w of this.waiting.values()) w.reject(err);
        this.waiting.clear();
      });
    });
    // Unhandled only if nobody waits for readiness; the waiters see the error.
    this.ready.catch(() => undefined);
  }

  send(msg: object): void {
    if (!this.exited) this.child.send(msg);
  }

  usage(): Promise<Usage> {
    if (this.exited) return Promise.reject(new Error(`${this.label} process has exited`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ type: 'usage', id });
    });
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ type: 'exit' });
    const timer = setTimeout(() => this.child.kill(), 5_000);
    await gone;
    clearTimeout(timer);
  }

  private onUsage(msg: Usage): void {
    if (this.firstRss === 0) this.firstRss = msg.rss;
    this.peakRss = Math.max(this.peakRss, msg.rss);
    this.last = msg;
    this.waiting.get(msg.id)?.resolve(msg);
    this.waiting.delete(msg.id);
  }
}

function checkPlainNode(ready: Ready, label: string): void {
  if (ready.execArgv.length > 0 || /tsx/.test(ready.nodeOptions)) {
    throw new Error(
      `${label} is not on plain node: execArgv ${ready.execArgv.join(' ')}, ` +
        `NODE_OPTIONS ${ready.nodeOptions}`,
    );
  }
}

const real = new ServerProcess('webhook', './webhook-server.mjs', [tlsDir, LOG_LEVEL]);
const realReady = await real.ready;
checkPlainNode(realReady, 'the webhook');
if (!realReady.caPath || !realReady.certPath || !realReady.keyPath) {
  throw new Error('the webhook did not report its CA, certificate and key paths');
}
const caPem = readFileSync(realReady.caPath, 'utf8');
const rssAfterStart = (await real.usage()).rss;

// Verify before measuring: the webhook answers 200 with a valid AdmissionReview for this request.
// Its body becomes the floors' answer, and the bytes every response must match.
const probe = await post(realReady.port, body);
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

const floors = (['bare', 'parse'] as const).map((mode) => {
  const floor = new ServerProcess(`${mode} floor`, './webhook-floor.mjs', [mode]);
  floor.send({
    type: 'start',
    certPath: realReady.certPath,
    keyPath: realReady.keyPath,
    response: expectedBody.toString('utf8'),
    http: realReady.http,
  });
  return floor;
});
const [bare, parse] = floors as [ServerProcess, ServerProcess];
const servers = [bare, parse, real] as const;
const ports = new Map<ServerProcess, number>([[real, realReady.port]]);
for (const floor of floors) {
  const ready = await floor.ready;
  checkPlainNode(ready, floor.label);
  if (JSON.stringify(ready.http) !== JSON.stringify(realReady.http)) {
    throw new Error(
      `${floor.label} limits ${JSON.stringify(ready.http)} differ from the webhook's`,
    );
  }
  ports.set(floor, ready.port);
  // Same status, body, headers (but Date) and TLS parameters as the webhook.
  const answer = await post(ready.port, body);
  const mismatch =
    answer.status !== 200
      ? `HTTP ${answer.status}`
      : !answer.body.equals(expectedBody)
        ? `body ${answer.body.toString('utf8')}`
        : answer.headers !== probe.headers
          ? `headers ${answer.headers} (webhook: ${probe.headers})`
          : answer.protocol !== probe.protocol || answer.cipher !== probe.cipher
            ? `TLS ${answer.protocol} ${answer.cipher}`
            : undefined;
  if (mismatch) throw new Error(`${floor.label} does not answer as the webhook: ${mismatch}`);
}
const portOf = (server: ServerProcess) => ports.get(server) as number;

// RSS of every server process, sampled through all runs (the webhook's peak is the target).
const sampler = setInterval(() => {
  for (const server of servers) server.usage().catch(() => undefined);
}, RSS_SAMPLE_MS);

// --- load driver ----------------------------------------------------------------------------

const driver = fork(fileURLToPath(new URL('./webhook-load.ts', import.meta.url)), [], {
  execArgv: ['--import', 'tsx'],
  serialization: 'advanced',
  stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
});
children.add(driver);
const driverExited = new Promise<void>((resolve) => driver.once('exit', () => resolve()));
let nextRunId = 0;

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

interface Shape {
  mode: 'closed' | 'open';
  connections: number;
  seconds: number;
  rate?: number;
}

interface Measured extends RunResult {
  /** The server process's CPU time (user + system, all threads) from `go` to the result, µs. */
  serverCpuMicros: number;
  /** The server's garbage-collection pauses in that time, ms. */
  serverGcMillis: number;
  /** Open loop: the length of the schedule, s. */
  scheduleSeconds: number;
}

/** One run: the driver connects, the server's CPU is read, the run goes, the CPU is read again. */
function drive(server: ServerProcess, shape: Shape): Promise<Measured> {
  const id = nextRunId++;
  const msg: RunMessage = {
    type: 'run',
    id,
    port: portOf(server),
    mode: shape.mode,
    connections: shape.connections,
    rate: shape.rate ?? 0,
    seconds: shape.seconds,
    request: requestBytes(portOf(server)),
    expectedBody,
    caPem,
  };
  return new Promise((resolve, reject) => {
    let before: Promise<Usage> | undefined;
    const done = () => {
      driver.off('message', onMessage);
      driver.off('exit', onExit);
    };
    const failed = (err: Error) => {
      done();
      reject(err);
    };
    const onMessage = (m: ConnectedMessage | RunResult) => {
      if (m.id !== id) return;
      if (m.type === 'connected') {
        before = server.usage();
        before.then(() => driver.send({ type: 'go', id } satisfies DriverMessage), failed);
        return;
      }
      done();
      if (!before) {
        reject(new Error(`no run against the ${server.label}: ${m.errorSamples.join('; ')}`));
        return;
      }
      Promise.all([before, server.usage()]).then(
        ([b, a]) =>
          resolve({
            ...m,
            serverCpuMicros: a.cpuMicros - b.cpuMicros,
            serverGcMillis: a.gcMillis - b.gcMillis,
            scheduleSeconds: shape.mode === 'open' ? shape.seconds : 0,
          }),
        reject,
      );
    };
    const onExit = () => failed(new Error('load driver exited during a run'));
    driver.on('message', onMessage);
    driver.once('exit', onExit);
    driver.send(msg satisfies DriverMessage);
  });
}

// --- measurement ----------------------------------------------------------------------------

interface Point {
  offered: number;
  completed: number;
  perSecond: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  errors: number;
  errorSamples: string[];
  /** CPU time per completed request, µs: the server's process and the client's. */
  serverCpuUs: number;
  clientCpuUs: number;
  /** The server's GC pauses per completed request, µs (main thread, part of serverCpuUs). */
  serverGcUs: number;
  /** p99 of each round alone, ms: how much the tail moves from run to run. */
  roundP99: number[];
  /** Open loop: how late requests went out after their scheduled time, ms. */
  lagP50: number;
  lagP99: number;
  maxBacklog: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

function merged(arrays: Float64Array[]): Float64Array {
  const all = new Float64Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    all.set(a, at);
    at += a.length;
  }
  return all.sort();
}

function point(runs: Measured[]): Point {
  const completed = runs.reduce((n, r) => n + r.completed, 0);
  const latencies = merged(runs.map((r) => r.latenciesMs));
  const lags = merged(runs.map((r) => r.sendLagMs));
  return {
    offered: runs.reduce((n, r) => n + r.offered, 0),
    completed,
    // Closed loop: from go to the last close; open loop: over the schedule (what was achieved
    // of the offered rate).
    perSecond: completed / runs.reduce((s, r) => s + (r.scheduleSeconds || r.elapsedSeconds), 0),
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    p999: percentile(latencies, 0.999),
    max: latencies[latencies.length - 1] ?? NaN,
    errors: runs.reduce((n, r) => n + r.errors, 0),
    errorSamples: [...new Set(runs.flatMap((r) => r.errorSamples))],
    serverCpuUs: runs.reduce((n, r) => n + r.serverCpuMicros, 0) / completed,
    clientCpuUs: runs.reduce((n, r) => n + r.cpuMicros, 0) / completed,
    serverGcUs: (runs.reduce((n, r) => n + r.serverGcMillis, 0) * 1000) / completed,
    roundP99: runs.map((r) => percentile(merged([r.latenciesMs]), 0.99)),
    lagP50: percentile(lags, 0.5),
    lagP99: percentile(lags, 0.99),
    maxBacklog: Math.max(...runs.map((r) => r.maxBacklog)),
  };
}

/** Rounds alternate the order of the servers (A B C, C B A, ...) so drift hits them alike. */
async function measure(
  shape: Shape,
  rounds: number,
  offset: number,
): Promise<Map<ServerProcess, Point>> {
  const runs = new Map<ServerProcess, Measured[]>(servers.map((s) => [s, []]));
  for (let round = 0; round < rounds; round++) {
    const order = (round + offset) % 2 === 0 ? [...servers] : [...servers].reverse();
    for (const server of order) {
      runs.get(server)?.push(await drive(server, { ...shape, seconds: shape.seconds / rounds }));
    }
  }
  return new Map([...runs].map(([server, rs]) => [server, point(rs)]));
}

const started = performance.now();
const closed = new Map<number, Map<ServerProcess, Point>>();
for (const [i, concurrency] of CONCURRENCY.entries()) {
  // Warm every server up at this concurrency (JIT, caches, connection setup) first.
  if (WARMUP_SECONDS > 0) {
    for (const server of servers) {
      await drive(server, { mode: 'closed', connections: concurrency, seconds: WARMUP_SECONDS });
    }
  }
  closed.set(
    concurrency,
    await measure({ mode: 'closed', connections: concurrency, seconds: SECONDS }, ROUNDS, i),
  );
}

// The same offered load for every server: by default half of what the webhook sustains in the
// closed loop at concurrency 8 (or at the highest concurrency measured, without 8).
const saturation =
  closed.get(SATURATION_CONCURRENCY)?.get(real)?.perSecond ??
  Math.max(...[...closed.values()].map((m) => m.get(real)?.perSecond ?? 0));
const saturationAt = closed.has(SATURATION_CONCURRENCY)
  ? SATURATION_CONCURRENCY
  : Math.max(...CONCURRENCY);
const openRate = Math.max(1, Math.round(OPEN_RATE ?? OPEN_LOAD * saturation));
const openShape: Shape = {
  mode: 'open',
  connections: OPEN_CONNECTIONS,
  seconds: OPEN_SECONDS,
  rate: openRate,
};
if (OPEN_SECONDS > 0 && WARMUP_SECONDS > 0) {
  // The driver's open-loop path and the servers at this load, warm before anything counts.
  for (const server of servers) await drive(server, { ...openShape, seconds: WARMUP_SECONDS });
}
const open = OPEN_SECONDS > 0 ? await measure(openShape, OPEN_ROUNDS, 0) : undefined;
const totalSeconds = (performance.now() - started) / 1000;
clearInterval(sampler);
const realAtEnd = await real.usage();

// --- report ---------------------------------------------------------------------------------

const NAMES = new Map<ServerProcess, string>([
  [bare, 'bare floor'],
  [parse, 'parse floor'],
  [real, 'webhook'],
]);
const verdict = (ok: boolean) => (ok ? 'OK' : 'NOT MET');
const num = (n: number, width: number, digits = 2) => n.toFixed(digits).padStart(width);
const name = (server: ServerProcess) => (NAMES.get(server) ?? server.label).padEnd(12);
const loadText = (l: number[]) => l.map((x) => x.toFixed(2)).join(', ');
const get = (m: Map<ServerProcess, Point>, server: ServerProcess) => m.get(server) as Point;
const errorLines: string[] = [];
const noteErrors = (what: string, p: Point) => {
  if (p.errors > 0) errorLines.push(`  ${what}: ${p.errors} errors: ${p.errorSamples.join('; ')}`);
};

console.log(
  `POST /${WEBHOOK} with ${REQUEST_FILE} (compact, ${body.length} bytes) -> 200, ` +
    `${expectedBody.length}-byte AdmissionReview (allowed: ${String(review.response.allowed)}, ` +
    `warnings: ${review.response.warnings?.length ?? 0})`,
);
console.log(
  `loopback TLS (${probe.protocol}, ${probe.cipher}), keep-alive, 1 request in flight per ` +
    `connection; webhook logs: pino '${LOG_LEVEL}' to /dev/null (sonic-boom)`,
);
console.log(
  `each server in its own process on plain node ${realReady.node} (no tsx), the load driver in ` +
    `another; ${cpus().length} cores shared by all`,
);
console.log(
  `load average ${loadText(loadAtStart)} at start, ${loadText(loadavg())} at the end; ` +
    `measured in ${totalSeconds.toFixed(0)} s`,
);
console.log('');
console.log(
  `closed loop: ${SECONDS} s per point (${ROUNDS} alternating rounds) after ` +
    `${WARMUP_SECONDS} s warmup per server`,
);
console.log('                                                   server µs/req     client');
console.log('conc  server          req/s   p50 ms   p99 ms errors    CPU  of it GC   CPU µs/req');
for (const [concurrency, r] of closed) {
  for (const server of servers) {
    const p = get(r, server);
    noteErrors(`closed loop, concurrency ${concurrency}, ${name(server).trim()}`, p);
    console.log(
      `${String(concurrency).padStart(4)}  ${name(server)} ${num(p.perSecond, 7, 0)} ` +
        `${num(p.p50, 8)} ${num(p.p99, 8)} ${String(p.errors).padStart(6)} ` +
        `${num(p.serverCpuUs, 6, 0)} ${num(p.serverGcUs, 9, 1)} ${num(p.clientCpuUs, 12, 0)}`,
    );
  }
}
console.log('');
console.log('      webhook/bare floor                         webhook/parse floor');
console.log(
  `conc  req/s (target >= ${TARGET_THROUGHPUT.toFixed(2)})  CPU/req  p99 (*)   ` +
    'req/s  CPU/req  p99 (*)',
);
for (const [concurrency, r] of closed) {
  const w = get(r, real);
  const b = get(r, bare);
  const f = get(r, parse);
  const tput = w.perSecond / b.perSecond;
  console.log(
    `${String(concurrency).padStart(4)}  ${num(tput, 5)}x ${verdict(tput >= TARGET_THROUGHPUT).padEnd(15)}` +
      `${num(w.serverCpuUs / b.serverCpuUs, 6)}x ${num(w.p99 / b.p99, 7)}x ` +
      `${num(w.perSecond / f.perSecond, 8)}x ${num(w.serverCpuUs / f.serverCpuUs, 7)}x ` +
      `${num(w.p99 / f.p99, 7)}x`,
  );
}
console.log(
  '(*) at the same concurrency, not at the same offered load: the p99 target is judged in the ' +
    'open loop',
);

if (open) {
  console.log('');
  console.log(
    `open loop: ${openRate} req/s offered to every server ` +
      (OPEN_RATE === undefined
        ? `(${Math.round(OPEN_LOAD * 100)} % of the webhook's closed-loop ` +
          `${saturation.toFixed(0)} req/s at concurrency ${saturationAt}) `
        : '(BENCH_OPEN_RATE) ') +
      `over ${OPEN_CONNECTIONS} connections, ${OPEN_SECONDS} s per server (${OPEN_ROUNDS} ` +
      `alternating rounds) after ${WARMUP_SECONDS} s warmup; latency from each request's ` +
      'scheduled time',
  );
  console.log(
    '                                                    send lag ms  server CPU                client',
  );
  console.log(
    'server       achieved/s   p50 ms   p99 ms p99.9 ms errors  p50   p99  busy  µs/req  of it GC  µs/req',
  );
  for (const server of servers) {
    const p = get(open, server);
    noteErrors(`open loop, ${name(server).trim()}`, p);
    console.log(
      `${name(server)} ${num(p.perSecond, 10, 0)} ${num(p.p50, 8)} ${num(p.p99, 8)} ` +
        `${num(p.p999, 8)} ${String(p.errors).padStart(6)} ${num(p.lagP50, 4)} ` +
        `${num(p.lagP99, 5)} ${num((p.serverCpuUs * p.perSecond) / 1e4, 4, 0)}% ` +
        `${num(p.serverCpuUs, 6, 0)} ${num(p.serverGcUs, 9, 1)} ${num(p.clientCpuUs, 7, 0)}`,
    );
  }
  console.log(
    'p99 of each round alone, ms: ' +
      servers
        .map(
          (s) =>
            `${name(s).trim()} ${get(open, s)
              .roundP99.map((x) => x.toFixed(2))
              .join(' ')}`,
        )
        .join('; '),
  );
  const w = get(open, real);
  const ratio = w.p99 / get(open, bare).p99;
  console.log(
    `p99 webhook/bare floor at the same offered load: ${ratio.toFixed(2)}x ` +
      `(target <= ${TARGET_P99.toFixed(2)}) ${verdict(ratio <= TARGET_P99)}; ` +
      `webhook/parse floor: ${(w.p99 / get(open, parse).p99).toFixed(2)}x`,
  );
}

console.log('');
const peak = mb(real.peakRss);
console.log(
  `webhook process RSS, sampled every ${RSS_SAMPLE_MS} ms through all runs: peak ` +
    `${peak.toFixed(1)} MB (target < ${TARGET_RSS_MB} MB) ${verdict(peak < TARGET_RSS_MB)}; ` +
    `${mb(rssAfterStart).toFixed(1)} MB after start, ${mb(realAtEnd.rss).toFixed(1)} MB at the ` +
    `end (V8 heap ${mb(realAtEnd.heapUsed).toFixed(1)} MB used of ` +
    `${mb(realAtEnd.heapTotal).toFixed(1)} MB)`,
);
console.log(
  `  for scale, peak RSS of the bare floor ${mb(bare.peakRss).toFixed(1)} MB, of the parse ` +
    `floor ${mb(parse.peakRss).toFixed(1)} MB`,
);
console.log(
  'The targets are against the bare floor, as the issue sets them; the parse floor shows what ' +
    'JSON alone adds.',
);
if (errorLines.length > 0) {
  console.log('ERRORS: some requests failed or got a wrong answer; the figures are not valid');
  for (const line of errorLines) console.log(line);
}

// --- teardown -------------------------------------------------------------------------------

driver.send({ type: 'exit' } satisfies ExitMessage);
await driverExited;
await Promise.all(servers.map((s) => s.stop()));
if (errorLines.length > 0) process.exitCode = 1;

interface Answer {
  status: number;
  body: Buffer;
  /** Response headers but Date, as name: value lines. */
  headers: string;
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
        const headers: string[] = [];
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
          const key = res.rawHeaders[i] as string;
          if (key.toLowerCase() !== 'date') headers.push(`${key}: ${res.rawHeaders[i + 1]}`);
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks),
            headers: headers.join(', '),
            protocol,
            cipher,
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}
