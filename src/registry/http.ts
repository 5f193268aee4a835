import { Agent, request as undiciRequest } from 'undici';
import type { Readable } from 'node:stream';
import { Semaphore } from './concurrency.js';
import { parseErrorBody, RegistryError, type RegistryErrorInit } from './errors.js';
import { registryApiHost } from './reference.js';
import {
  backoffMs,
  describeNetworkError,
  isRetryableNetworkError,
  parseRetryAfter,
  RETRYABLE_STATUS,
  sleep,
  type RetryPolicy,
} from './retry.js';

/** What a request is for; {@link RequestStats} counts them. */
export type RequestKind = 'ping' | 'token' | 'manifest' | 'blob' | 'push' | 'tags';

export type RequestStats = Record<RequestKind, number> & {
  /** Every HTTP request sent, retries and redirects included. */
  total: number;
  /** Requests that were repeated after a retryable failure (429, 5xx, reset, timeout, cut body). */
  retries: number;
};

export interface RequestEvent {
  kind: RequestKind;
  method: string;
  /** Scheme, host and path; the query string is left out (signed redirect URLs carry secrets). */
  url: string;
  /** HTTP status, or undefined when the request failed without a response. */
  status: number | undefined;
  /** 1 for the first try of a request, 2 for its first retry, … */
  attempt: number;
}

export interface HttpResponse {
  status: number;
  /** A response header (lower-case name); repeated headers are joined with ", ". */
  header(name: string): string | undefined;
  body: Readable;
  url: string;
  /** Reads and drops a small body so the connection can be reused. */
  discard(): Promise<void>;
}

/** Hooks the authenticator provides; the transport calls them around each request. */
export interface Authorizer {
  /** The Authorization header value for a request to `registry` needing `scope`, if any. */
  authorization(registry: string, scope: string): Promise<string | undefined>;
  /**
   * The registry answered 401 to a request sent with `used`. Drops what was used (a token that
   * expired early) and learns the challenge; `retry` says whether one more attempt can succeed.
   */
  unauthorized(
    registry: string,
    scope: string,
    challenge: string | undefined,
    used: string | undefined,
  ): Promise<{ retry: boolean; hint?: string }>;
}

export interface RequestSpec {
  kind: RequestKind;
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Registry, repository and reference named by errors. */
  where: RegistryErrorInit;
  /** Authenticate against `registry` for `scope` (e.g. `repository:a/b:pull`). */
  auth?: { registry: string; scope: string };
  /** Non-2xx statuses handed to `consume` instead of being turned into errors. */
  okStatuses?: number[];
  signal?: AbortSignal;
}

export interface TransportOptions {
  userAgent: string;
  concurrency: number;
  retry: RetryPolicy;
  insecureRegistries: string[];
  timeouts: { connectMs: number; headersMs: number; bodyMs: number };
  onRequest?: ((event: RequestEvent) => void) | undefined;
  random?: () => number;
}

const MAX_REDIRECTS = 5;
const ERROR_BODY_LIMIT = 64 * 1024;

/** A consume callback's failure that another attempt may fix (the body was cut short). */
function isRetryableBodyError(err: unknown): boolean {
  return err instanceof RegistryError ? err.code === 'TRUNCATED' : isRetryableNetworkError(err);
}

/**
 * HTTP for the registry client: one undici Agent, a semaphore bounding the requests in flight
 * across the whole client (a slot is held from sending until the body is consumed, never while
 * waiting to retry or while fetching a token), bounded retries with full-jitter backoff and
 * `Retry-After`, a per-host pause after a 429, redirects (without the Authorization header once
 * they leave the registry's origin), and request counts.
 */
export class HttpTransport {
  authorizer: Authorizer | undefined;
  private readonly agent: Agent;
  private readonly semaphore: Semaphore;
  private readonly insecure: Set<string>;
  private readonly pausedUntil = new Map<string, number>();
  private readonly counts: RequestStats = {
    ping: 0,
    token: 0,
    manifest: 0,
    blob: 0,
    push: 0,
    tags: 0,
    total: 0,
    retries: 0,
  };
  private closed = false;

  constructor(private readonly options: TransportOptions) {
    this.semaphore = new Semaphore(options.concurrency);
    this.insecure = new Set(options.insecureRegistries);
    this.agent = new Agent({
      connect: { timeout: options.timeouts.connectMs },
      headersTimeout: options.timeouts.headersMs,
      bodyTimeout: options.timeouts.bodyMs,
      keepAliveTimeout: 4_000,
    });
  }

  /** `http://` for registries listed as insecure (by name or API host), else `https://`. */
  baseUrl(registry: string): string {
    const host = registryApiHost(registry);
    const scheme = this.insecure.has(registry) || this.insecure.has(host) ? 'http' : 'https';
    return `${scheme}://${host}`;
  }

  stats(): RequestStats {
    return { ...this.counts };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.agent.close();
  }

  /**
   * Sends `spec` and hands a 2xx (or `okStatuses`) response to `consume`, retrying on 408, 429,
   * 500, 502, 503, 504, on transport errors (reset, timeout) and when `consume` fails because the
   * body was cut short. A 401 is retried once after the authorizer has dropped the stale token.
   * The response body is always released when `consume` returns or throws.
   */
  async request<T>(spec: RequestSpec, consume: (res: HttpResponse) => Promise<T>): Promise<T> {
    const { retry } = this.options;
    const host = new URL(spec.url).host;
    let authRetried = false;
    let authHint: string | undefined;
    for (let attempt = 1; ; attempt++) {
      if (this.closed)
        throw new RegistryError('client is closed', { ...spec.where, code: 'CLOSED' });
      await this.waitForHost(host, spec.signal);
      const authorization =
        spec.auth && this.authorizer
          ? await this.authorizer.authorization(spec.auth.registry, spec.auth.scope)
          : undefined;

      let outcome: Outcome<T>;
      try {
        outcome = await this.once(spec, authorization, attempt, consume);
      } catch (err) {
        if (err instanceof RegistryError && !isRetryableBodyError(err)) throw err;
        if (spec.signal?.aborted) throw err;
        if (isRetryableBodyError(err) && attempt < retry.attempts) {
          this.counts.retries++;
          await sleep(backoffMs(attempt, retry, this.options.random), spec.signal);
          continue;
        }
        if (err instanceof RegistryError) throw withAttempts(err, attempt);
        throw new RegistryError(
          `${spec.method} ${spec.kind} failed: ${describeNetworkError(err)}`,
          {
            ...spec.where,
            code: 'NETWORK',
            attempts: attempt,
            cause: err,
          },
        );
      }
      if (outcome.done) return outcome.value;

      const { status, header, errorBody } = outcome;
      const registryError = parseErrorBody(errorBody);
      if (status === 401 && spec.auth && this.authorizer && !authRetried) {
        authRetried = true;
        const verdict = await this.authorizer.unauthorized(
          spec.auth.registry,
          spec.auth.scope,
          header('www-authenticate'),
          authorization,
        );
        authHint = verdict.hint;
        if (verdict.retry) {
          attempt--; // a renewed token is not a retry of a failing registry
          continue;
        }
        throw statusError(spec, status, registryError, attempt, authHint);
      }
      if (status === 401) throw statusError(spec, status, registryError, attempt, authHint);
      if (RETRYABLE_STATUS.has(status)) {
        const retryAfter =
          status === 429 || status === 503 ? parseRetryAfter(header('retry-after')) : undefined;
        if (retryAfter !== undefined && retryAfter > retry.maxRetryAfterMs) {
          throw statusError(
            spec,
            status,
            registryError,
            attempt,
            `the registry asks to wait ${Math.ceil(retryAfter / 1000)} s (Retry-After), more than the ${Math.ceil(retry.maxRetryAfterMs / 1000)} s allowed`,
          );
        }
        if (attempt < retry.attempts) {
          const delay = retryAfter ?? backoffMs(attempt, retry, this.options.random);
          if (status === 429 && retryAfter !== undefined) {
            // Everyone talking to this host waits, not just this request (as regclient does).
            this.pausedUntil.set(
              host,
              Math.max(this.pausedUntil.get(host) ?? 0, Date.now() + delay),
            );
          }
          this.counts.retries++;
          await sleep(delay, spec.signal);
          continue;
        }
      }
      throw statusError(spec, status, registryError, attempt);
    }
  }

  private async waitForHost(host: string, signal: AbortSignal | undefined): Promise<void> {
    // Bounded: each pause is at most maxRetryAfterMs and set only by a response.
    for (let i = 0; i < 10; i++) {
      const until = this.pausedUntil.get(host);
      const wait = until === undefined ? 0 : until - Date.now();
      if (wait <= 0) return;
      await sleep(wait, signal);
    }
  }

  /**
   * A request slot, taken only while `host` is not paused. Requests queued for a slot passed
   * {@link waitForHost} before a 429 paused the host; without this check they would all be sent
   * during the pause. The slot is given back while waiting, so other hosts are not held up.
   */
  private async slotFor(host: string, signal: AbortSignal | undefined): Promise<() => void> {
    for (;;) {
      const release = await this.semaphore.acquire();
      const until = this.pausedUntil.get(host);
      if (until === undefined || until <= Date.now()) return release;
      release();
      await this.waitForHost(host, signal);
    }
  }

  private async once<T>(
    spec: RequestSpec,
    authorization: string | undefined,
    attempt: number,
    consume: (res: HttpResponse) => Promise<T>,
  ): Promise<Outcome<T>> {
    let url = spec.url;
    const origin = new URL(spec.url).origin;
    const followRedirects = spec.method === 'GET' || spec.method === 'HEAD';
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = {
        'user-agent': this.options.userAgent,
        ...spec.headers,
      };
      // Never send the registry's credentials to another origin (object storage redirects).
      if (authorization !== undefined && new URL(url).origin === origin) {
        headers.authorization = authorization;
      }
      const release = await this.slotFor(new URL(url).host, spec.signal);
      let res: Awaited<ReturnType<typeof undiciRequest>>;
      try {
        this.counts[spec.kind]++;
        this.counts.total++;
        res = await undiciRequest(url, {
          dispatcher: this.agent,
          method: spec.method,
          headers,
          body: spec.body,
          signal: spec.signal,
        });
      } catch (err) {
        release();
        this.emit(spec, url, undefined, attempt);
        throw err;
      }
      const status = res.statusCode;
      this.emit(spec, url, status, attempt);
      // Readers attach their own listeners and still see errors; this one only keeps an abort
      // (destroying a body we stopped reading) from becoming an uncaught exception.
      res.body.on('error', () => undefined);
      const header = (name: string): string | undefined => {
        const value = res.headers[name];
        return Array.isArray(value) ? value.join(', ') : value;
      };
      try {
        const location = header('location');
        if (
          followRedirects &&
          [301, 302, 303, 307, 308].includes(status) &&
          location !== undefined &&
          hop < MAX_REDIRECTS
        ) {
          await res.body.dump({ limit: ERROR_BODY_LIMIT }).catch(() => undefined);
          url = new URL(location, url).toString();
          continue;
        }
        if ((status >= 200 && status < 300) || spec.okStatuses?.includes(status)) {
          const body = res.body;
          const discard = () => body.dump({ limit: ERROR_BODY_LIMIT }).catch(() => undefined);
          const value = await consume({ status, header, body, url, discard });
          return { done: true, value };
        }
        const errorBody = await readBody(
          res.body,
          header,
          ERROR_BODY_LIMIT,
          spec.where,
          true,
        ).catch(() => undefined);
        return { done: false, status, header, errorBody };
      } finally {
        if (!res.body.destroyed && !res.body.readableEnded) res.body.destroy();
        release();
      }
    }
  }

  private emit(spec: RequestSpec, url: string, status: number | undefined, attempt: number): void {
    if (!this.options.onRequest) return;
    const parsed = new URL(url);
    try {
      this.options.onRequest({
        kind: spec.kind,
        method: spec.method,
        url: `${parsed.origin}${parsed.pathname}`,
        status,
        attempt,
      });
    } catch {
      // A failing observer must not break the request.
    }
  }
}

type Outcome<T> =
  | { done: true; value: T }
  | {
      done: false;
      status: number;
      header: (name: string) => string | undefined;
      errorBody: Buffer | undefined;
    };

function withAttempts(err: RegistryError, attempts: number): RegistryError {
  if (attempts <= 1) return err;
  return new RegistryError(err.reason, {
    registry: err.registry,
    repository: err.repository,
    reference: err.reference,
    status: err.status,
    code: err.code,
    attempts,
    cause: err.cause,
  });
}

const STATUS_CODES: Record<number, string> = {
  401: 'UNAUTHORIZED',
  403: 'DENIED',
  429: 'TOOMANYREQUESTS',
};

function statusError(
  spec: RequestSpec,
  status: number,
  body: { code: string | undefined; message: string | undefined } | undefined,
  attempts: number,
  hint?: string,
): RegistryError {
  const code = body?.code ?? STATUS_CODES[status] ?? 'HTTP';
  const parts = [`${spec.method} ${spec.kind} failed`];
  if (body?.message) parts.push(body.message);
  if (hint) parts.push(hint);
  return new RegistryError(parts.join(': '), { ...spec.where, status, code, attempts });
}

/**
 * Reads a whole body, refusing more than `limit` bytes (TOO_LARGE) and fewer than the
 * Content-Length promised (TRUNCATED — a retryable failure).
 */
export async function readBody(
  body: Readable,
  header: (name: string) => string | undefined,
  limit: number,
  where: RegistryErrorInit,
  truncateAtLimit = false,
): Promise<Buffer> {
  const declared = header('content-length');
  const expected = declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : undefined;
  if (expected !== undefined && expected > limit && !truncateAtLimit) {
    throw new RegistryError(`response of ${expected} bytes is above the ${limit}-byte limit`, {
      ...where,
      code: 'TOO_LARGE',
    });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      if (truncateAtLimit) {
        chunks.push(chunk.subarray(0, chunk.length - (total - limit)));
        total = limit;
        break;
      }
      throw new RegistryError(`response is above the ${limit}-byte limit`, {
        ...where,
        code: 'TOO_LARGE',
      });
    }
    chunks.push(chunk);
  }
  if (expected !== undefined && total < expected && !truncateAtLimit) {
    throw new RegistryError(`body cut short: ${total} of ${expected} bytes`, {
      ...where,
      code: 'TRUNCATED',
    });
  }
  return Buffer.concat(chunks, total);
}
