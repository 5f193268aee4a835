/** Retry policy: full-jitter exponential backoff with a cap and a bounded number of attempts. */
export interface RetryOptions {
  /** Total attempts per request, the first included. Default 5. */
  attempts?: number;
  /** Backoff base in ms: attempt n waits a random time in [0, min(capMs, baseMs·2^(n-1))). Default 250. */
  baseMs?: number;
  /** Largest backoff in ms. Default 10 000. */
  capMs?: number;
  /**
   * Longest `Retry-After` honoured, in ms. A registry asking for a longer pause makes the request
   * fail at once with TOOMANYREQUESTS instead of stalling the run. Default 60 000.
   */
  maxRetryAfterMs?: number;
}

export interface RetryPolicy {
  attempts: number;
  baseMs: number;
  capMs: number;
  maxRetryAfterMs: number;
}

export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  const policy = {
    attempts: options.attempts ?? 5,
    baseMs: options.baseMs ?? 250,
    capMs: options.capMs ?? 10_000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
  };
  if (!Number.isInteger(policy.attempts) || policy.attempts < 1 || policy.attempts > 100) {
    throw new RangeError(`retry.attempts must be an integer in 1..100, got ${policy.attempts}`);
  }
  for (const key of ['baseMs', 'capMs', 'maxRetryAfterMs'] as const) {
    if (!Number.isFinite(policy[key]) || policy[key] < 0) {
      throw new RangeError(`retry.${key} must be a non-negative number`);
    }
  }
  return policy;
}

/** Statuses worth another attempt: rate limiting, timeouts and transient server trouble. */
export const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** Full jitter (AWS architecture blog): uniform in [0, min(cap, base·2^(retry-1))). */
export function backoffMs(retry: number, policy: RetryPolicy, random: () => number = Math.random) {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/**
 * `Retry-After` as a delay in ms: delta-seconds or an HTTP date (RFC 9110 §10.2.3). Undefined
 * when absent or unreadable; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()) {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    return Number.isSafeInteger(seconds) ? seconds * 1000 : undefined;
  }
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_CLOSED',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** Connection resets, timeouts and bodies cut short: transport trouble another attempt may fix. */
export function isRetryableNetworkError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && RETRYABLE_NETWORK_CODES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** A short description of a transport error, without anything from request headers. */
export function describeNetworkError(err: unknown): string {
  const codes: string[] = [];
  let message = '';
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && !codes.includes(code)) codes.push(code);
    if (message === '' && e instanceof Error) message = e.message;
    e = (e as { cause?: unknown }).cause;
  }
  const text = message.length > 200 ? `${message.slice(0, 200)}…` : message;
  return codes.length > 0 ? `${text} [${codes.join(', ')}]` : text;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
