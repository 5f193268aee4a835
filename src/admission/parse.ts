// Reads an AdmissionReview v1 request and checks every field the engine relies on, so that a
// malformed body gets a clear error instead of a wrong decision.
import { isUtf8 } from 'node:buffer';
import { isObject, type KubeObject } from '../k8s/objects.js';
import type { AdmissionRequestLike, Operation, UserInfo } from '../engine/types.js';
import { AdmissionInputError } from './errors.js';

const OPERATIONS: readonly Operation[] = ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'];
export function parseAdmissionReviewBytes(bytes: Uint8Array, where: string): AdmissionRequestLike {
  // One native validity check, then a plain decode: cheaper on the request path than a fatal
  // TextDecoder, with the same verdict.
  if (!isUtf8(bytes)) {
    throw new AdmissionInputError(where, 'not valid UTF-8 (an AdmissionReview is JSON text)');
  }
  return parseAdmissionReviewText(
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
    where,
  );
}

export function parseAdmissionReviewText(text: string, where: string): AdmissionRequestLike {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new AdmissionInputError(where, `not JSON: ${syntaxProblem(err as Error)}`);
  }
  return parseAdmissionReview(body, where);
}

/**
 * V8's messages quote the text around the error, which may be any part of the object — a
 * Secret's value among them — and this message reaches logs and 400 bodies: keep the position,
 * drop the excerpt.
 */
function syntaxProblem(err: Error): string {
  const position = /position (\d+)/.exec(err.message)?.[1];
  if (position !== undefined) return `syntax error at position ${position}`;
  if (/end of (JSON )?input/i.test(err.message)) return 'unexpected end of input';
  return 'syntax error';
}

/** Longest received string quoted back in an error (the message reaches logs and 400 bodies). */
const QUOTE_LIMIT = 100;

/**
 * What was received, for an error message: a short string quoted, anything else by its type.
 * Never the value itself: it may be megabytes, or nested deeper than JSON.stringify can recurse.
 */
function got(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') {
    return value.length > QUOTE_LIMIT
      ? `${JSON.stringify(value.slice(0, QUOTE_LIMIT))}… (${value.length} characters)`
      : JSON.stringify(value);
  }
  if (value === null || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  return Array.isArray(value) ? 'a list' : 'an object';
}

export function parseAdmissionReview(body: unknown, where: string): AdmissionRequestLike {
  const fail = (path: string, detail: string): never => {
    throw new AdmissionInputError(`${where}: ${path}`, detail);
  };
  if (!isObject(body)) fail('(root)', 'expected a JSON object (an AdmissionReview)');
  const review = body as Record<string, unknown>;
  if (review.kind !== 'AdmissionReview') {
    fail('kind', `expected "AdmissionReview", got ${got(review.kind)}`);
  }
  if (review.apiVersion !== 'admission.k8s.io/v1') {
    fail(
      'apiVersion',
      `expected "admission.k8s.io/v1", got ${got(review.apiVersion)} (set admissionReviewVersions: ["v1"] in the webhook configuration)`,
    );
  }
  const request = review.request;
  if (!isObject(request)) fail('request', 'expected an object');
  const req = request as Record<string, unknown>;
  if (typeof req.uid !== 'string' || req.uid === '')
    fail('request.uid', 'expected a non-empty string');
  const kind = req.kind;
  if (!isObject(kind)) fail('request.kind', 'expected an object {group, version, kind}');
  const k = kind as Record<string, unknown>;
  for (const field of ['group', 'version', 'kind'] as const) {
    if (typeof k[field] !== 'string') fail(`request.kind.${field}`, 'expected a string');
  }
  if (!OPERATIONS.includes(req.operation as Operation)) {
    fail(
      'request.operation',
      `expected one of ${OPERATIONS.join(', ')}, got ${got(req.operation)}`,
    );
  }
  for (const field of ['object', 'oldObject'] as const) {
    const value = req[field];
    if (value !== undefined && value !== null && !isObject(value)) {
      fail(`request.${field}`, 'expected an object or null');
    }
  }
  const operation = req.operation as Operation;
  if ((operation === 'CREATE' || operation === 'UPDATE') && !isObject(req.object)) {
    fail(
      'request.object',
      `expected the object being ${operation === 'CREATE' ? 'created' : 'updated'}`,
    );
  }
  if (operation === 'UPDATE' && !isObject(req.oldObject)) {
    fail('request.oldObject', 'expected the stored object on UPDATE');
  }
  for (const field of ['namespace', 'name', 'subResource'] as const) {
    if (req[field] !== undefined && typeof req[field] !== 'string')
      fail(`request.${field}`, 'expected a string');
  }
  return {
    uid: req.uid as string,
    kind: { group: k.group as string, version: k.version as string, kind: k.kind as string },
    operation,
    namespace: req.namespace as string | undefined,
    name: req.name as string | undefined,
    object: (req.object ?? null) as KubeObject | null,
    oldObject: (req.oldObject ?? null) as KubeObject | null,
    userInfo: parseUserInfo(req.userInfo, fail),
    dryRun: req.dryRun === true,
    ...(req.subResource ? { subResource: req.subResource as string } : {}),
  };
}

function parseUserInfo(
  value: unknown,
  fail: (path: string, detail: string) => never,
): UserInfo | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) return fail('request.userInfo', 'expected an object');
  const { username, groups } = value;
  if (username !== undefined && typeof username !== 'string')
    fail('request.userInfo.username', 'expected a string');
  if (
    groups !== undefined &&
    !(Array.isArray(groups) && groups.every((g) => typeof g === 'string'))
  ) {
    fail('request.userInfo.groups', 'expected a list of strings');
  }
  return { username: username as string | undefined, groups: groups as string[] | undefined };
}
