// Load driver for bench/webhook.bench.ts, run in a forked child process so that client CPU is not
// spent in any server's process. Keep-alive TLS connections to 127.0.0.1, one request in flight per
// connection (as the API server's webhook client does), a precomputed HTTP/1.1 request and a
// minimal response parser (status line, Content-Length, body compared byte for byte: anything but
// 200 with the expected body is an error).
//
// Two load shapes:
//   closed  each connection sends its next request as soon as the previous answer is in; latency
//           runs from the write of the request;
//   open    requests are scheduled at a fixed rate, whatever the server does, and go out on the
//           first free connection at or after their scheduled time; latency runs from the
//           scheduled time, so time spent waiting for a connection counts (no coordinated
//           omission). A worker thread keeps the schedule (Node's timers have 1 ms granularity,
//           which would add up to 1 ms to every latency; busy-polling would take a whole core);
//           how late each request went out is reported, so what the driver adds is visible.
//
// A run opens its connections, reports `connected`, and starts on `go`, so that the bench can read
// the server's CPU time around the requests alone. Every loop is bounded by the run's duration;
// a watchdog ends a run that stalls.
import { connect, type TLSSocket } from 'node:tls';
import { Worker } from 'node:worker_threads';

export interface RunMessage {
  type: 'run';
  id: number;
  port: number;
  mode: 'closed' | 'open';
  connections: number;
  /** Open loop: requests per second, scheduled at fixed intervals. Unused in a closed loop. */
  rate: number;
  seconds: number;
  /** The whole HTTP/1.1 request, headers and body. */
  request: Uint8Array;
  /** The response body every request must get. */
  expectedBody: Uint8Array;
  caPem: string;
}

/** From the driver: every connection of run `id` is up; it starts on GoMessage. */
export interface ConnectedMessage {
  type: 'connected';
  id: number;
}

export interface GoMessage {
  type: 'go';
  id: number;
}

export interface ExitMessage {
  type: 'exit';
}

export interface RunResult {
  type: 'result';
  id: number;
  /** Open loop: requests scheduled in the run. Closed loop: requests sent. */
  offered: number;
  completed: number;
  errors: number;
  /** The first few distinct error descriptions, for the report. */
  errorSamples: string[];
  /** From `go` until every connection was closed. */
  elapsedSeconds: number;
  /** CPU time (user + system) of this client process during the run, µs. */
  cpuMicros: number;
  /** Latency of each completed request, ms (errors excluded). */
  latenciesMs: Float64Array;
  /** Open loop: how late each completed request was written after its scheduled time, ms. */
  sendLagMs: Float64Array;
  /** Open loop: the most requests ever waiting for a free connection at once. */
  maxBacklog: number;
}

export type DriverMessage = RunMessage | GoMessage | ExitMessage;

const HOST = '127.0.0.1';
const MAX_HEAD_BYTES = 64 * 1024;
const RECONNECT_DELAY_MS = 20;
const CONNECT_TIMEOUT_MS = 5_000;
const WATCHDOG_GRACE_MS = 5_000;
/** Open loop: a backlog this long means the server is far past saturation; stop queueing. */
const MAX_BACKLOG = 200_000;

class Samples {
  private data = new Float64Array(4096);
  length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }

  take(): Float64Array {
    return this.data.slice(0, this.length);
  }
}

interface Run {
  msg: RunMessage;
  latencies: Samples;
  lags: Samples;
  fail(why: string): void;
  /** A connection is up and has nothing in flight. */
  idle(conn: Connection): void;
  /** A connection closed: it is idle no more. */
  closed(conn: Connection): void;
  /** Whether a connection that closed should open again. */
  reconnect(): boolean;
}

/** One keep-alive TLS connection with at most one request in flight; reopens when it closes. */
class Connection {
  private socket: TLSSocket | undefined;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private inFlight = false;
  private broken = false;
  private stopped = false;
  /** Latency runs from here: the write (closed loop) or the scheduled time (open loop). */
  private from = 0;
  private markClosed: () => void = () => undefined;
  readonly closed = new Promise<void>((resolve) => (this.markClosed = resolve));

  constructor(private readonly run: Run) {
    this.open();
  }

  /** Writes the request; `from` is where its latency starts, `scheduled` says open loop. */
  send(from: number, scheduled: boolean): void {
    const socket = this.socket;
    if (!socket || this.inFlight || this.stopped) throw new Error('send on a busy connection');
    this.chunks = [];
    this.buffered = 0;
    this.inFlight = true;
    this.from = from;
    if (scheduled) this.run.lags.push(performance.now() - from);
    socket.write(this.run.msg.request);
  }

  /** Closes once nothing is in flight. */
  stop(): void {
    this.stopped = true;
    if (!this.inFlight) this.socket?.end();
  }

  /** Watchdog: cut the connection, counting what is in flight as failed. */
  destroy(): void {
    this.stopped = true;
    if (this.inFlight && !this.broken) {
      this.broken = true;
      this.run.fail('request still in flight when the run was cut off');
    }
    this.socket?.destroy();
  }

  private open(): void {
    const { msg } = this.run;
    const socket = connect({ host: HOST, port: msg.port, ca: msg.caPem });
    this.socket = socket;
    this.inFlight = false;
    this.broken = false;
    socket.setNoDelay(true);
    socket.once('secureConnect', () => {
      if (this.stopped) socket.end();
      else this.run.idle(this);
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => {
      if (!this.broken) {
        this.broken = true;
        this.run.fail(`connection error: ${err.message}`);
      }
    });
    socket.on('close', () => {
      if (this.inFlight && !this.broken)
        this.run.fail('connection closed with a request in flight');
      this.inFlight = false;
      this.run.closed(this);
      if (this.stopped || !this.run.reconnect()) {
        this.markClosed();
        return;
      }
      // Closed early (error or server close): open again, bounded by the run's reconnect().
      setTimeout(() => (this.stopped ? this.markClosed() : this.open()), RECONNECT_DELAY_MS);
    });
  }

  private breakOff(why: string): void {
    if (this.broken) return;
    this.broken = true;
    this.run.fail(why);
    this.socket?.destroy();
  }

  private onData(chunk: Buffer): void {
    if (!this.inFlight) return this.breakOff('bytes received with no request in flight');
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const data = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.buffered);
    this.chunks = [data];
    const headEnd = data.indexOf('\r\n\r\n');
    if (headEnd < 0) {
      if (this.buffered > MAX_HEAD_BYTES) this.breakOff('response head too large');
      return;
    }
    const head = data.toString('latin1', 0, headEnd);
    const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head)?.[1];
    if (length === undefined) return this.breakOff('response without Content-Length');
    const total = headEnd + 4 + Number(length);
    if (this.buffered < total) return;
    if (this.buffered > total) return this.breakOff('extra bytes after the response');
    this.inFlight = false;
    const status = head.slice(9, 12);
    if (status !== '200') {
      this.run.fail(`HTTP ${status}`);
    } else if (!data.subarray(headEnd + 4).equals(this.run.msg.expectedBody)) {
      this.run.fail('response body differs from the expected AdmissionReview');
    } else {
      this.run.latencies.push(performance.now() - this.from);
    }
    if (this.stopped) this.socket?.end();
    else this.run.idle(this);
  }
}

const goSignals = new Map<number, () => void>();

/**
 * Open loop: a worker thread that sleeps until each request is due (`Atomics.wait`, which has
 * sub-millisecond resolution where Node's timers have 1 ms) and then posts how many requests are
 * due so far; the main thread wakes on that message, or sooner for I/O.
 */
const METRONOME = `
const { parentPort, workerData } = require('node:worker_threads');
const { control, startAt, interval, count } = workerData;
const state = new Int32Array(control); // 0 waiting for go, 1 running, 2 stopped
const start = new Float64Array(startAt);
const now = () => Number(process.hrtime.bigint()) / 1e6;
parentPort.postMessage(0);
Atomics.wait(state, 0, 0);
let k = 0;
while (k < count && Atomics.load(state, 0) === 1) {
  const wait = start[0] + k * interval - now();
  if (wait > 0) Atomics.wait(state, 0, 1, wait);
  const t = now();
  let n = k;
  while (n < count && start[0] + n * interval <= t) n++;
  if (n > k) {
    parentPort.postMessage(n);
    k = n;
  }
}
`;

interface Metronome {
  /** Starts the schedule; `at` is the time of request 0, in process.hrtime ms. */
  go(at: number): void;
  stop(): Promise<void>;
}

async function metronome(interval: number, count: number, onDue: (n: number) => void) {
  const control = new SharedArrayBuffer(4);
  const startAt = new SharedArrayBuffer(8);
  const state = new Int32Array(control);
  const worker = new Worker(METRONOME, {
    eval: true,
    workerData: { control, startAt, interval, count },
  });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  worker.on('message', onDue);
  const signal = (value: number) => {
    Atomics.store(state, 0, value);
    Atomics.notify(state, 0);
  };
  return {
    go(at: number) {
      new Float64Array(startAt)[0] = at;
      signal(1);
    },
    async stop() {
      signal(2);
      await worker.terminate();
    },
  } satisfies Metronome;
}

const hrMillis = () => Number(process.hrtime.bigint()) / 1e6;

async function run(msg: RunMessage): Promise<RunResult> {
  const latencies = new Samples();
  const lags = new Samples();
  let errors = 0;
  const errorSamples = new Set<string>();
  const fail = (why: string) => {
    errors++;
    if (errorSamples.size < 5) errorSamples.add(why);
  };

  let running = false;
  let startedAt = 0;
  let deadline = Infinity;
  let giveUpAt = Infinity;
  const idle: Connection[] = [];
  const conns: Connection[] = [];
  let sent = 0;

  // Open loop: request k is due at startedAt + k * interval. The metronome says how many are
  // due; they wait in `backlog` (as their scheduled times) until a connection is free.
  const open = msg.mode === 'open';
  const interval = open ? 1000 / msg.rate : 0;
  const toSchedule = open ? Math.floor(msg.seconds * msg.rate) : 0;
  let due = 0;
  let scheduled = 0;
  let backlog: number[] = [];
  let backlogHead = 0;
  let maxBacklog = 0;

  const pump = () => {
    while (scheduled < due) {
      if (backlog.length - backlogHead >= MAX_BACKLOG) fail('open-loop backlog overflow');
      else backlog.push(startedAt + scheduled * interval);
      scheduled++;
    }
    while (backlogHead < backlog.length && idle.length > 0) {
      (idle.pop() as Connection).send(backlog[backlogHead++] as number, true);
      sent++;
    }
    maxBacklog = Math.max(maxBacklog, backlog.length - backlogHead);
    if (backlogHead > 4096 && backlogHead * 2 > backlog.length) {
      backlog = backlog.slice(backlogHead);
      backlogHead = 0;
    }
    if (scheduled === toSchedule && backlogHead === backlog.length) {
      for (const conn of idle.splice(0)) conn.stop();
    }
  };
  const clock = open
    ? await metronome(interval, toSchedule, (n) => {
        due = n;
        pump();
      })
    : undefined;

  let announced = false;
  const r: Run = {
    msg,
    latencies,
    lags,
    fail,
    idle(conn) {
      if (!running) {
        idle.push(conn);
        if (!announced && idle.length === msg.connections) {
          announced = true;
          process.send?.({ type: 'connected', id: msg.id } satisfies ConnectedMessage);
        }
      } else if (!open) {
        if (performance.now() < deadline) {
          conn.send(performance.now(), false);
          sent++;
        } else conn.stop();
      } else {
        idle.push(conn);
        pump();
      }
    },
    closed(conn) {
      const at = idle.indexOf(conn);
      if (at >= 0) idle.splice(at, 1);
    },
    reconnect: () => performance.now() < Math.min(deadline, giveUpAt),
  };
  giveUpAt = performance.now() + CONNECT_TIMEOUT_MS;
  for (let i = 0; i < msg.connections; i++) conns.push(new Connection(r));

  const connectTimer = setTimeout(() => {
    if (announced) return;
    fail(`not all ${msg.connections} connections up within ${CONNECT_TIMEOUT_MS} ms`);
    for (const conn of conns) conn.destroy();
  }, CONNECT_TIMEOUT_MS);
  const go = new Promise<void>((resolve) => goSignals.set(msg.id, resolve));
  const allClosed = Promise.all(conns.map((c) => c.closed)).then(() => undefined);
  const first = await Promise.race([go.then(() => 'go' as const), allClosed]);
  clearTimeout(connectTimer);
  goSignals.delete(msg.id);

  const cpuBefore = process.cpuUsage();
  startedAt = performance.now();
  if (first === 'go') {
    running = true;
    deadline = startedAt + msg.seconds * 1000;
    giveUpAt = deadline + WATCHDOG_GRACE_MS;
    if (clock) clock.go(hrMillis());
    else for (const conn of idle.splice(0)) r.idle(conn);
  }
  const watchdog = setTimeout(
    () => {
      for (const conn of conns) conn.destroy();
    },
    msg.seconds * 1000 + WATCHDOG_GRACE_MS,
  );
  await allClosed;
  clearTimeout(watchdog);
  await clock?.stop();
  // Every connection gone (or cut) before the schedule was through: what was offered and never
  // sent counts as failed.
  const unsent = backlog.length - backlogHead + (running ? toSchedule - scheduled : 0);
  if (unsent > 0) {
    errors += unsent - 1;
    fail(`${unsent} scheduled requests never sent: no connection left`);
  }
  const cpu = process.cpuUsage(cpuBefore);
  return {
    type: 'result',
    id: msg.id,
    offered: open ? toSchedule : sent,
    completed: latencies.length,
    errors,
    errorSamples: [...errorSamples],
    elapsedSeconds: (performance.now() - startedAt) / 1000,
    cpuMicros: cpu.user + cpu.system,
    latenciesMs: latencies.take(),
    sendLagMs: lags.take(),
    maxBacklog,
  };
}

process.on('message', (msg: DriverMessage) => {
  if (msg.type === 'exit') {
    process.disconnect();
  } else if (msg.type === 'go') {
    goSignals.get(msg.id)?.();
  } else {
    run(msg).then(
      (result) => process.send?.(result),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  }
});
