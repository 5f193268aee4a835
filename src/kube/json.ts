// One JSON request to the API server with the kubeconfig's TLS settings and credentials (token,
// client certificate, exec plugin) applied by the client library to node:https options: the
// project's one HTTP path to the API server besides the library's watches. The status comes back
// as an answer (404 and 409 are what create-if-absent and optimistic updates act on); getJson in
// request.ts turns anything but 200 into an error. Raw JSON rather than the generated API classes,
// which turn objects into model instances that differ from what a watch delivers.
import { request, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { serverOf } from './config.js';
import { KubeError } from './errors.js';

export interface KubeAnswer {
  status: number;
  /** The parsed body; undefined if it was not JSON. */
  body: unknown;
}

export type Method = 'GET' | 'POST' | 'PUT';

/** Writes and single reads; a server that takes longer is treated as down. */
const TIMEOUT_MS = 15_000;

/** Sends `body` as JSON; a transport failure (refused, TLS, timeout) throws a KubeError. */
export async function kubeJson(
  kc: KubeConfig,
  method: Method,
  path: string,
  what: string,
  body?: unknown,
  timeoutMs = TIMEOUT_MS,
): Promise<KubeAnswer> {
  const server = serverOf(kc);
  const url = new URL(`${server.replace(/\/$/, '')}${path}`);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const options: RequestOptions = {
    method,
    headers: {
      Accept: 'application/json',
      ...(payload === undefined
        ? {}
        : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }),
    },
    timeout: timeoutMs,
    minVersion: 'TLSv1.2',
  };
  try {
    await kc.applyToHTTPSOptions(options);
  } catch (err) {
    throw new KubeError(server, what, `credentials: ${(err as Error).message}`);
  }
  return new Promise((resolve, reject) => {
    const req = request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (err) => reject(new KubeError(server, what, `cannot read: ${err.message}`)));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: parse(Buffer.concat(chunks).toString()) }),
      );
    });
    let timedOut = false;
    req.on('timeout', () => {
      timedOut = true;
      req.destroy();
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(new KubeError(server, what, timedOut ? 'no answer in time' : transportProblem(err))),
    );
    req.end(payload);
  });
}

/** A KubeError for an answer the caller cannot act on, with the Status message if there is one. */
export function unexpected(kc: KubeConfig, what: string, answer: KubeAnswer): KubeError {
  const message = (answer.body as { message?: unknown } | undefined)?.message;
  const detail = typeof message === 'string' && message !== '' ? `: ${message}` : '';
  return new KubeError(serverOf(kc), what, `HTTP ${answer.status}${detail}`, answer.status);
}

/** Worth another try: throttled, server-side trouble, or a timeout. */
export function transient(status: number | undefined): boolean {
  return status === undefined || status === 429 || status >= 500 || status === 408;
}

/** Connection-level causes: refused, DNS, TLS. */
function transportProblem(err: NodeJS.ErrnoException): string {
  if (err.code) return `cannot connect: ${err.code}${err.message ? ` (${err.message})` : ''}`;
  return `cannot connect: ${err.message}`;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
