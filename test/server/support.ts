// Helpers for the webhook server tests: a real HTTPS client on loopback, a log capture, a
// Prometheus text parser and the example requests.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import https, { type Agent } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createLogger, type Logger } from '../../src/server/logger.js';
import { startServer, type RunningServer, type ServeOptions } from '../../src/server/serve.js';
import { REPO_ROOT } from '../support/cli.js';

export { REPO_ROOT };

/** Every server and client in these tests uses this address and nothing else. */
export const LOOPBACK = '127.0.0.1';
export const EXAMPLE_STATE = join(REPO_ROOT, 'examples/state');
export const EXAMPLE_REQUESTS = join(REPO_ROOT, 'examples/requests');

export interface ExampleRequest {
  file: string;
  text: string;
  review: AdmissionReviewJson;
}

export interface AdmissionReviewJson {
  apiVersion: string;
  kind: string;
  request: {
    uid: string;
    operation: string;
    namespace?: string;
    name?: string;
    userInfo?: { username?: string; groups?: string[] };
    object?: Record<string, unknown> | null;
    oldObject?: Record<string, unknown> | null;
    [key: string]: unknown;
  };
}

export interface AdmissionResponseJson {
  apiVersion: string;
  kind: string;
  response: {
    uid: string;
    allowed: boolean;
    status?: { code: number; message: string };
    warnings?: string[];
    patchType?: string;
    patch?: string;
    auditAnnotations?: { rules: string };
  };
}

export function exampleRequests(): ExampleRequest[] {
  return readdirSync(EXAMPLE_REQUESTS)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const text = readFileSync(join(EXAMPLE_REQUESTS, file), 'utf8');
      return { file, text, review: JSON.parse(text) as AdmissionReviewJson };
    });
}

export function exampleRequest(file: string): ExampleRequest {
  const found = exampleRequests().find((r) => r.file === file);
  if (!found) throw new Error(`no example request ${file}`);
  return found;
}

/** A copy of an example request with another uid (and whatever `edit` changes). */
export function withUid(
  review: AdmissionReviewJson,
  uid: string,
  edit: (r: AdmissionReviewJson) => void = () => undefined,
): string {
  const copy = structuredClone(review);
  copy.request.uid = uid;
  edit(copy);
  return JSON.stringify(copy);
}

// ---------------------------------------------------------------------------------------------
// HTTPS client

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The request went over a connection an earlier request had opened. */
  reusedSocket: boolean;
  /** SHA-256 of the certificate the server presented on this connection. */
  fingerprint256: string | undefined;
  protocol: string | null;
  cipher: string;
}

export interface RequestOptions {
  method?: 'GET' | 'POST';
  body?: string | Buffer;
  contentType?: string;
  /** A fresh connection (no agent, no session reuse) instead of the keep-alive agent. */
  fresh?: boolean;
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  ciphers?: string;
  /** Send the body with Transfer-Encoding: chunked, in pieces of this many bytes. */
  chunkBytes?: number;
}

/** Requests to one loopback HTTPS server, verifying its certificate against `ca`. */
export class WebhookClient {
  readonly agent: Agent;

  constructor(
    readonly port: number,
    readonly ca: string | string[],
    options: { maxSockets?: number } = {},
  ) {
    this.agent = new https.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 4 });
  }

  get(path: string, options: RequestOptions = {}): Promise<Reply> {
    return this.request(path, { ...options, method: 'GET' });
  }

  post(path: string, body: string | Buffer, options: RequestOptions = {}): Promise<Reply> {
    return this.request(path, {
      contentType: 'application/json',
      ...options,
      method: 'POST',
      body,
    });
  }

  request(path: string, options: RequestOptions = {}): Promise<Reply> {
    const { method = 'GET', body, contentType, fresh = false } = options;
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = {};
      if (contentType !== undefined) headers['content-type'] = contentType;
      if (body !== undefined && options.chunkBytes === undefined)
        headers['content-length'] = Buffer.byteLength(body);
      const req = https.request(
        {
          host: LOOPBACK,
          port: this.port,
          servername: 'localhost',
          path,
          method,
          headers,
          ca: this.ca,
          agent: fresh ? false : this.agent,
          minVersion: options.minVersion,
          maxVersion: options.maxVersion,
          ciphers: options.ciphers,
          timeout: 15_000,
        },
        (res) => {
          const socket = res.socket as TLSSocket;
          const peer = socket.getPeerX509Certificate();
          const protocol = socket.getProtocol();
          const cipher = socket.getCipher().name;
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
              reusedSocket: req.reusedSocket,
              fingerprint256: peer?.fingerprint256,
              protocol,
              cipher,
            }),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      if (options.chunkBytes !== undefined && body !== undefined) {
        const bytes = Buffer.from(body);
        for (let at = 0; at < bytes.length; at += options.chunkBytes)
          req.write(bytes.subarray(at, at + options.chunkBytes));
        req.end();
      } else {
        req.end(body);
      }
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Logs

export interface LogCapture {
  logger: Logger;
  text(): string;
  lines(): Record<string, unknown>[];
}

/** A real pino logger writing JSON lines into memory. */
export function captureLogs(): LogCapture {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = createLogger('info', sink);
  const text = () => chunks.join('');
  return {
    logger,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

// ---------------------------------------------------------------------------------------------
// Prometheus text format

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key = '', value = ''] of (m[2] ?? '').matchAll(LABEL)) labels[key] = value;
    const raw = m[3] ?? '';
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    samples.push({ name: m[1] ?? '', labels, value });
  }
  return samples;
}

/** The value of the sample with exactly these labels, or undefined when there is none. */
export function metric(
  samples: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const want = Object.entries(labels).sort();
  const found = samples.filter(
    (s) =>
      s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === JSON.stringify(want),
  );
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} is not unique`);
  return found[0]?.value;
}

export async function scrape(client: WebhookClient): Promise<Sample[]> {
  const reply = await client.get('/metrics');
  if (reply.status !== 200) throw new Error(`/metrics answered ${reply.status}`);
  return parseMetrics(reply.body);
}

// ---------------------------------------------------------------------------------------------
// Servers

export async function tempDir(prefix = 'streamguard-server-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export interface TestServer {
  running: RunningServer;
  client: WebhookClient;
  ca: string;
  logs: LogCapture;
  dir: string;
  close(): Promise<void>;
}

/**
 * The real server on 127.0.0.1, port 0, with a self-signed certificate (unless `tls` says
 * otherwise), examples/state and the built-in policy, logging into memory.
 */
export async function startTestServer(
  options: Partial<ServeOptions> & { ca?: string } = {},
): Promise<TestServer> {
  const dir = await tempDir();
  const logs = captureLogs();
  const { ca: givenCa, ...serve } = options;
  const running = await startServer({
    host: LOOPBACK,
    port: 0,
    statePath: EXAMPLE_STATE,
    tls: { selfSigned: { sans: [], dir: join(dir, 'tls') } },
    deadlineMs: 2000,
    drainMs: 0,
    logger: logs.logger,
    watch: { debounceMs: 50, pollMs: 100 },
    ...serve,
  });
  const ca = givenCa ?? (await readFile(running.caPath ?? '', 'utf8'));
  const client = new WebhookClient(running.port, ca);
  return {
    running,
    client,
    ca,
    logs,
    dir,
    async close() {
      client.close();
      await running.drain();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The CLI as a long-running process

const ENTRY = fileURLToPath(new URL('../support/cli-entry.ts', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export function spawnCli(args: string[]): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', TSX, ENTRY, ...args], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
