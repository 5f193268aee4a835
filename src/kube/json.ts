// One JSON request to the API server with the kubeconfig's TLS settings and credentials (token,
// client certificate, exec plugin) applied by the client library to node:https options. Unlike
// src/kube/request.ts (GET, throws on any non-200), writes need the status back: 404 and 409 are
// answers the certificate code acts on, not failures. node:https rather than the library's fetch:
// the undici that fetch bundles needs a newer Node.js than the one streamguard supports.
import { request, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { serverOf } from '../../kube/config.js';
import { KubeError } from '../../kube/errors.js';

export interface KubeAnswer {
  status: number;
  /** The parsed body; undefined if it was not JSON. */
  body: unknown;
}

export type Method = 'GET' | 'POST' | 'PUT';

const TIMEOUT_MS = 15_000;

/** Sends `body` as JSON; a transport failure (refused, TLS, timeout) throws a KubeError. */
export async function kubeJson(
  kc: KubeConfig,
  method: Method,
  path: string,
  what: string,
  body?: unknown,
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
    timeout: TIMEOUT_MS,
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
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) =>
      reject(new KubeError(server, what, `cannot connect: ${err.code ?? err.message}`)),
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

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
