// Load for the reliability harnesses: real AdmissionReviews over keep-alive TLS (node:https with a
// keep-alive agent, one request in flight per connection, as the API server's webhook client),
// every answer checked against what the engine itself decides for that request.
//
// Open loop: request k is due at start + k / rate whatever the server does; its latency runs
// from that due time, so waiting for a free connection counts (no coordinated omission).
// Closed loop: `connections` senders back to back, to find the saturation throughput.
import https from 'node:https';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseAdmissionReviewBytes } from '../../../src/admission/parse.js';
import { admissionResponse } from '../../../src/admission/response.js';
import { decide, type Webhook } from '../../../src/engine/decide.js';
import type { DecisionContext } from '../../../src/engine/types.js';
import { loadPolicyFile } from '../../../src/policy/file.js';
import { loadState } from '../../../src/state/load.js';

export const LOOPBACK = '127.0.0.1';
export const REPO_ROOT = new URL('../../../', import.meta.url).pathname;

/** One request of the mix: where it goes, its bytes, and the bodies it may be answered with. */
export interface MixEntry {
  name: string;
  path: `/${Webhook}`;
  body: Buffer;
  /** Acceptable answers (usually one; two while a fault makes either context current). */
  expected: Set<string>;
  /** A name for some of the expected answers, to count how often each came (see `answers`). */
  labels?: Map<string, string>;
}

/** The example requests (examples/requests), for both webhooks. */
export function exampleBodies(dir = join(REPO_ROOT, 'examples/requests')): {
  name: string;
  text: string;
}[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({
      name: f,
      text: JSON.stringify(JSON.parse(readFileSync(join(dir, f), 'utf8'))),
    }));
}

/** The engine's own answer body for a request, as the server serializes it. */
export function engineAnswer(body: Buffer | string, context: DecisionContext, webhook: Webhook) {
  const request = parseAdmissionReviewBytes(Buffer.from(body), 'AdmissionReview');
  return JSON.stringify(admissionResponse(request.uid, decide(request, context, webhook)));
}

/** The offline context `serve --state DIR [--policy FILE]` decides with. */
export async function offlineContext(
  statePath: string,
  policyPath?: string,
): Promise<DecisionContext> {
  const [policy, state] = await Promise.all([loadPolicyFile(policyPath), loadState(statePath)]);
  return { policy, releases: state.releases, cluster: state.cluster };
}

/** Every example request for both webhooks, with the engine's answers under each context. */
export function mixFor(
  contexts: DecisionContext[],
  bodies = exampleBodies(),
  webhooks: Webhook[] = ['validate', 'mutate'],
): MixEntry[] {
  return webhooks.flatMap((webhook) =>
    bodies.map(({ name, text }) => ({
      name: `${webhook} ${name}`,
      path: `/${webhook}` as const,
      body: Buffer.from(text),
      expected: new Set(contexts.map((c) => engineAnswer(text, c, webhook))),
    })),
  );
}

export interface Figures {
  sent: number;
  ok: number;
  failed: number;
  /** New TLS connections opened in the interval (after the first, a reconnect each). */
  opened: number;
  p50: number;
  p99: number;
  max: number;
  seconds: number;
  rate: number;
}

export function percentile(sorted: Float64Array | number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

/** Requests to one port over a keep-alive agent; tallies what happened since the last `take`. */
export class LoadClient {
  readonly agent: https.Agent;
  readonly failures: string[] = [];
  /** How many answers of each label came (MixEntry.labels), over the client's life. */
  readonly answers = new Map<string, number>();
  #latencies: number[] = [];
  #sent = 0;
  #ok = 0;
  #failed = 0;
  #sockets = 0;
  #since = performance.now();
  #inFlight = 0;
  #mixAt = 0;

  constructor(
    readonly port: number,
    readonly ca: string | string[],
    public mix: MixEntry[],
    readonly connections: number,
    options: { fresh?: boolean } = {},
  ) {
    // FIFO: every connection carries traffic in turn, so none sits idle long enough to be cut
    // under a request (a draining server closes idle connections at its end). `fresh`: a new
    // connection for every request instead.
    this.agent = new https.Agent({
      keepAlive: !options.fresh,
      maxSockets: connections,
      scheduling: 'fifo',
    });
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Sends the next request of the mix; latency runs from `dueAt` (performance.now() ms). */
  send(dueAt = performance.now()): Promise<boolean> {
    const entry = this.mix[this.#mixAt++ % this.mix.length] as MixEntry;
    this.#sent++;
    this.#inFlight++;
    return new Promise<boolean>((resolve) => {
      const done = (failure?: string) => {
        this.#inFlight--;
        if (failure === undefined) {
          this.#ok++;
          this.#latencies.push(performance.now() - dueAt);
        } else {
          this.#failed++;
          if (this.failures.length < 20) this.failures.push(`${entry.name}: ${failure}`);
        }
        resolve(failure === undefined);
      };
      const req = https.request(
        {
          host: LOOPBACK,
          port: this.port,
          servername: 'localhost',
          path: `${entry.path}?timeout=10s`,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': entry.body.length },
          ca: this.ca,
          agent: this.agent,
          timeout: 15_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => done(`response error: ${err.message}`));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 200) done(`HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
            else if (!entry.expected.has(text)) done(`answer differs from the engine's: ${text}`);
            else {
              const label = entry.labels?.get(text);
              if (label) this.answers.set(label, (this.answers.get(label) ?? 0) + 1);
              done();
            }
          });
        },
      );
      req.on('socket', (socket) => {
        // As Go's client (the API server's) does: no Nagle delay on the small writes.
        socket.setNoDelay(true);
        // A socket seen for the first time is a new connection.
        if (!(socket as { counted?: boolean }).counted) {
          (socket as { counted?: boolean }).counted = true;
          this.#sockets++;
        }
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (err) => done(`request error: ${err.message}`));
      req.end(entry.body);
    });
  }

  /** Figures since the previous take (or the start), and starts a new interval. */
  take(): Figures {
    const now = performance.now();
    const seconds = (now - this.#since) / 1000;
    const sorted = Float64Array.from(this.#latencies).sort();
    const figures: Figures = {
      sent: this.#sent,
      ok: this.#ok,
      failed: this.#failed,
      opened: this.#sockets,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      max: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : NaN,
      seconds,
      rate: this.#ok / seconds,
    };
    this.#latencies = [];
    this.#sent = this.#ok = this.#failed = 0;
    this.#sockets = 0;
    this.#since = now;
    return figures;
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Closed loop for `seconds`: throughput in answered requests per second (failures counted). */
export async function saturation(
  client: LoadClient,
  seconds: number,
): Promise<{ perSecond: number; figures: Figures }> {
  client.take();
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) await client.send();
  };
  await Promise.all(Array.from({ length: client.connections }, worker));
  const figures = client.take();
  return { perSecond: figures.ok / figures.seconds, figures };
}

/**
 * Open loop at `rate` per second until `stop()` resolves or `seconds` pass. A 1 ms tick sends
 * what has come due; the agent queues what finds no free connection.
 */
export async function openLoop(
  client: LoadClient,
  rate: number,
  seconds: number,
  onTick?: () => void,
): Promise<void> {
  const start = performance.now();
  const total = Math.floor(rate * seconds);
  let issued = 0;
  const pending = new Set<Promise<boolean>>();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      // Request k is due at start + k / rate: k = 0 at once.
      const due = Math.min(total, Math.floor(((now - start) / 1000) * rate) + 1);
      while (issued < due) {
        const p = client.send(start + (issued * 1000) / rate);
        pending.add(p);
        void p.then(() => pending.delete(p));
        issued++;
      }
      onTick?.();
      if (issued >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  await Promise.all(pending);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const ms = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : 'n/a');
