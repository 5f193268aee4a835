// One GET to the API server through the client library's own transport and authentication
// (exec plugins, token files, client certificates), returning the raw JSON: the generated API
// classes would turn objects into model instances that differ from what a watch delivers.
import './node20-compat.js';
import {
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  RequestContext,
  type KubeConfig,
} from '@kubernetes/client-node';
import { KubeError } from './errors.js';
import { serverOf } from './config.js';

const http = new IsomorphicFetchHttpLibrary();

/** A page of a list or one object: an API server that takes longer is treated as down. */
export const REQUEST_TIMEOUT_MS = 60_000;

/** GETs `path` (with its query) and parses the JSON body; any failure is a KubeError. */
export async function getJson(
  kc: KubeConfig,
  path: string,
  what: string,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<unknown> {
  const server = serverOf(kc);
  const ctx = new RequestContext(`${server.replace(/\/$/, '')}${path}`, HttpMethod.GET);
  ctx.setHeaderParam('Accept', 'application/json');
  ctx.setSignal(AbortSignal.timeout(timeoutMs));
  let status: number;
  let text: string;
  try {
    await kc.applySecurityAuthentication(ctx);
    const res = await http.send(ctx).toPromise();
    status = res.httpStatusCode;
    text = await res.body.text();
  } catch (err) {
    throw new KubeError(server, what, transportProblem(err));
  }
  if (status !== 200) throw new KubeError(server, what, statusProblem(status, text), status);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new KubeError(server, what, 'the answer is not JSON', status);
  }
}

/** The message of a Kubernetes Status body, or the bare HTTP status. */
function statusProblem(status: number, body: string): string {
  let message: unknown;
  try {
    message = (JSON.parse(body) as { message?: unknown }).message;
  } catch {
    message = undefined;
  }
  return typeof message === 'string' && message !== ''
    ? `HTTP ${status}: ${message}`
    : `HTTP ${status}`;
}

/** Connection-level causes (refused, DNS, TLS) are nested in fetch's TypeError. */
function transportProblem(err: unknown): string {
  if ((err as { name?: string } | null)?.name === 'TimeoutError') return 'no answer in time';
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code)
    return `cannot connect: ${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return `cannot connect: ${(err as Error)?.message ?? String(err)}`;
}
