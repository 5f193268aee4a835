/**
 * Everything the registry client throws. The fields say where (registry host, repository,
 * reference) and what (HTTP status, the registry's `errors[].code` or one of our own codes); the
 * message is built from them plus a short reason and never contains credentials or tokens: the
 * reason passes through {@link redact} and callers never put header values into it.
 */
export type RegistryErrorCode =
  // The registry's own codes (distribution spec `errors[].code`); any other string it sends is kept.
  | 'NAME_UNKNOWN'
  | 'MANIFEST_UNKNOWN'
  | 'BLOB_UNKNOWN'
  | 'UNAUTHORIZED'
  | 'DENIED'
  | 'TOOMANYREQUESTS'
  | 'UNSUPPORTED'
  // Ours.
  | 'INVALID_REFERENCE'
  | 'INVALID_DIGEST'
  | 'DIGEST_MISMATCH'
  | 'MEDIA_TYPE_MISMATCH'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'INVALID_MANIFEST'
  | 'PLATFORM_NOT_FOUND'
  | 'TOO_LARGE'
  | 'TRUNCATED'
  | 'NETWORK'
  | 'HTTP'
  | 'AUTH_FILE'
  | 'TOKEN'
  | 'INVALID_LAYER'
  | 'CLOSED'
  | (string & {});

export interface RegistryErrorInit {
  /** The registry host as written in the reference (`quay.io`, `127.0.0.1:5000`). */
  registry?: string | undefined;
  repository?: string | undefined;
  /** Tag or digest. */
  reference?: string | undefined;
  status?: number | undefined;
  code?: RegistryErrorCode | undefined;
  /** Attempts made (when retries were involved). */
  attempts?: number | undefined;
  cause?: unknown;
}

export class RegistryError extends Error {
  readonly registry: string | undefined;
  readonly repository: string | undefined;
  readonly reference: string | undefined;
  readonly status: number | undefined;
  readonly code: RegistryErrorCode | undefined;
  readonly attempts: number | undefined;
  readonly reason: string;

  constructor(reason: string, init: RegistryErrorInit = {}) {
    const safeReason = redact(reason);
    super(composeMessage(safeReason, init), init.cause === undefined ? {} : { cause: init.cause });
    this.name = 'RegistryError';
    this.reason = safeReason;
    this.registry = init.registry;
    this.repository = init.repository;
    this.reference = init.reference;
    this.status = init.status;
    this.code = init.code;
    this.attempts = init.attempts;
  }
}

function composeMessage(reason: string, init: RegistryErrorInit): string {
  let where = '';
  if (init.registry !== undefined) {
    where = init.registry;
    if (init.repository !== undefined) where += `/${init.repository}`;
    if (init.reference !== undefined) {
      where += init.reference.includes(':') ? `@${init.reference}` : `:${init.reference}`;
    }
  }
  const detail: string[] = [];
  if (init.status !== undefined) detail.push(`HTTP ${init.status}`);
  if (init.code !== undefined) detail.push(init.code);
  if (init.attempts !== undefined && init.attempts > 1) detail.push(`${init.attempts} attempts`);
  const tail = detail.length > 0 ? ` (${detail.join(', ')})` : '';
  return where === '' ? `${reason}${tail}` : `${where}: ${reason}${tail}`;
}

const SECRET_PATTERNS: [RegExp, string][] = [
  // Authorization header values.
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 <redacted>'],
  // JWTs (three base64url parts, the first one a JSON object: "eyJ").
  [/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, '<redacted-jwt>'],
  // user:password@ in URLs.
  [/\/\/[^/@\s]+@/g, '//<redacted>@'],
  // Token-ish JSON fields and query parameters.
  [
    /((?:^|[\s{,?&"])(?:token|access_token|refresh_token|password|auth|identitytoken)"?\s*[:=]\s*"?)[^"&\s,}]+/gi,
    '$1<redacted>',
  ],
  // Signed URL parameters (object storage redirects).
  [/([?&](?:X-Amz-[A-Za-z-]+|Signature|sig|se|sp|token)=)[^&\s]+/gi, '$1<redacted>'],
];

/** Removes anything that looks like a credential or token from a text meant for humans. */
export function redact(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** A registry error body: `{"errors":[{"code":"…","message":"…"}]}`. */
export interface RegistryErrorBody {
  code: string | undefined;
  message: string | undefined;
}

/** Reads the first `errors[]` entry of a registry error body; anything unreadable gives undefined. */
export function parseErrorBody(body: Buffer | string | undefined): RegistryErrorBody | undefined {
  if (body === undefined || body.length === 0) return undefined;
  try {
    const json: unknown = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
    if (typeof json !== 'object' || json === null) return undefined;
    const errors = (json as { errors?: unknown }).errors;
    if (!Array.isArray(errors) || errors.length === 0) return undefined;
    const first: unknown = errors[0];
    if (typeof first !== 'object' || first === null) return undefined;
    const { code, message } = first as { code?: unknown; message?: unknown };
    return {
      code: typeof code === 'string' ? code.slice(0, 64) : undefined,
      message: typeof message === 'string' ? message.slice(0, 300) : undefined,
    };
  } catch {
    return undefined;
  }
}
