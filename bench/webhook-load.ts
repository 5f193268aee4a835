// Load driver for bench/webhook.bench.ts, run in a forked child process so that client CPU does
// not share the server's event loop. Keep-alive TLS connections to 127.0.0.1, one request in
// flight per connection (as the API server's webhook client does), a precomputed HTTP/1.1 request
// and a minimal response parser (status line, Content-Length, body compared byte for byte).
// Every loop is bounded by the run's duration, and a watchdog ends a run that stalls.
import { connect, type TLSSocket } from 'node:tls';

export interface RunMessage {
  type: 'run';
  id: number;
  port: number;
  concurrency: number;
  seconds: number;
  /** The whole HTTP/1.1 request, headers and body. */
  request: Uint8Array;
  /** The response body every request must get. */
  expectedBody: Uint8Array;
  caPem: string;
}

export interface ExitMessage {
  type: 'exit';
}

export interface RunResult {
  type: 'result';
  id: number;
  completed: number;
  errors: number;
  /** The first few distinct error descriptions, for the report. */
  errorSamples: string[];
  elapsedSeconds: number;
  /** CPU time (user + system) of this client process during the run, µs. */
  cpuMicros: number;
  /** Latency of each completed request, ms (errors excluded). */
  latenciesMs: Float64Array;
}

const HOST = '127.0.0.1';
const MAX_HEAD_BYTES = 64 * 1024;
const RECONNECT_DELAY_MS = 20;
const WATCHDOG_GRACE_MS = 5_000;

async function run(msg: RunMessage): Promise<RunResult> {
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const deadline = started + msg.seconds * 1000;
  let latencies = new Float64Array(4096);
  let completed = 0;
  let errors = 0;
  const errorSamples = new Set<string>();
  const sockets = new Set<TLSSocket>();

  const record = (ms: number) => {
    if (completed === latencies.length) {
      const bigger = new Float64Array(latencies.length * 2);
      bigger.set(latencies);
      latencies = bigger;
    }
    latencies[completed++] = ms;
  };
  const fail = (why: string) => {
    errors++;
    if (errorSamples.size < 5) errorSamples.add(why);
  };

  // One connection's loop: resolves at the deadline (or when the watchdog cuts it).
  const connection = () =>
    new Promise<void>((resolve) => {
      let finished = false;
      const finish = () => {
        if (finished) return;
        finished = true;
        resolve();
      };
      const open = () => {
        if (performance.now() >= deadline) return finish();
        const socket = connect({ host: HOST, port: msg.port, ca: msg.caPem });
        sockets.add(socket);
        socket.setNoDelay(true);
        let chunks: Buffer[] = [];
        let buffered = 0;
        let sentAt = 0;
        let inFlight = false;
        let broken = false;

        const send = () => {
          if (performance.now() >= deadline) {
            socket.end();
            return;
          }
          chunks = [];
          buffered = 0;
          inFlight = true;
          sentAt = performance.now();
          socket.write(msg.request);
        };
        const breakOff = (why: string) => {
          if (broken) return;
          broken = true;
          fail(why);
          socket.destroy();
        };
        socket.once('secureConnect', send);
        socket.on('data', (chunk: Buffer) => {
          if (!inFlight) return breakOff('bytes received with no request in flight');
          chunks.push(chunk);
          buffered += chunk.length;
          const data = chunks.length === 1 ? chunk : Buffer.concat(chunks, buffered);
          chunks = [data];
          const headEnd = data.indexOf('\r\n\r\n');
          if (headEnd < 0) {
            if (buffered > MAX_HEAD_BYTES) breakOff('response head too large');
            return;
          }
          const head = data.toString('latin1', 0, headEnd);
          const length = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head)?.[1];
          if (length === undefined) return breakOff('response without Content-Length');
          const total = headEnd + 4 + Number(length);
          if (buffered < total) return;
          if (buffered > total) return breakOff('extra bytes after the response');
          inFlight = false;
          const status = head.slice(9, 12);
          if (status !== '200') {
            fail(`HTTP ${status}`);
          } else if (!data.subarray(headEnd + 4).equals(msg.expectedBody)) {
            fail('response body differs from the expected AdmissionReview');
          } else {
            record(performance.now() - sentAt);
          }
          send();
        });
        socket.on('error', (err) => {
          if (!broken) {
            broken = true;
            fail(`connection error: ${err.message}`);
          }
        });
        socket.on('close', () => {
          sockets.delete(socket);
          if (inFlight && !broken) fail('connection closed with a request in flight');
          if (performance.now() >= deadline) return finish();
          // Closed early (error or server close): reconnect, bounded by the deadline.
          setTimeout(open, RECONNECT_DELAY_MS);
        });
      };
      open();
    });

  const watchdog = setTimeout(
    () => {
      for (const s of sockets) {
        fail('request still in flight when the run was cut off');
        s.destroy();
      }
    },
    msg.seconds * 1000 + WATCHDOG_GRACE_MS,
  );
  await Promise.all(Array.from({ length: msg.concurrency }, connection));
  clearTimeout(watchdog);
  const cpu = process.cpuUsage(cpuBefore);
  return {
    type: 'result',
    id: msg.id,
    completed,
    errors,
    errorSamples: [...errorSamples],
    elapsedSeconds: (performance.now() - started) / 1000,
    cpuMicros: cpu.user + cpu.system,
    latenciesMs: latencies.slice(0, completed),
  };
}

process.on('message', (msg: RunMessage | ExitMessage) => {
  if (msg.type === 'exit') {
    process.disconnect();
    return;
  }
  run(msg).then(
    (result) => process.send?.(result),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});
