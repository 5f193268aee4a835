// Lists as the API server answers them: selectors, consistent pages (limit/continue at the first
// page's resourceVersion, 410 Expired once compacted away), resourceVersionMatch=Exact, and the
// typed/unstructured difference in items. Also how objects leave: in the version asked for.
import { groupVersion, type KubeObject, type ResourceType } from './resources.js';
import {
  COMMON_FIELDS,
  fieldMatcher,
  labelMatcher,
  type FieldGetters,
  type Matcher,
} from './selectors.js';
import { ApiError, badRequest, failure } from './status.js';
import type { Store } from './store.js';
import { parseRv } from './watch.js';

/** What a request addresses: a type in one version, maybe a namespace, name and subresource. */
export interface Target {
  type: ResourceType;
  version: string;
  namespace: string | undefined;
  name: string | undefined;
  subresource: 'status' | undefined;
}

/** Fields a fieldSelector may use: name and namespace everywhere, type on Secrets. */
function fields(type: ResourceType): FieldGetters {
  if (type.group === '' && type.plural === 'secrets') {
    return { ...COMMON_FIELDS, type: (o) => String((o as { type?: unknown }).type ?? '') };
  }
  return COMMON_FIELDS;
}

export function matcher(type: ResourceType, q: URLSearchParams): Matcher {
  const labels = labelMatcher(q.get('labelSelector'));
  const byField = fieldMatcher(q.get('fieldSelector'), fields(type));
  return (obj) => labels(obj) && byField(obj);
}

interface ContinueToken {
  v: string;
  rv: number;
  start: string;
}

/**
 * A list at the current RV, or with `continue` at the RV of the first page (a consistent
 * snapshot, 410 Expired once the history no longer reaches back to it), or at an exact RV with
 * resourceVersionMatch=Exact.
 */
export function list(store: Store, target: Target, q: URLSearchParams): Record<string, unknown> {
  const match = matcher(target.type, q);
  const limit = q.has('limit') ? Number(q.get('limit')) : 0;
  if (!Number.isInteger(limit) || limit < 0) throw badRequest(`invalid limit: ${q.get('limit')}`);
  const token = q.get('continue');
  let atRv = store.resourceVersion;
  let start = '';
  if (token !== null && token !== '') {
    const decoded = decodeContinue(token);
    if (decoded.rv < store.oldestResourceVersion) {
      throw new ApiError(
        failure(
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
        ),
      );
    }
    atRv = decoded.rv;
    start = decoded.start;
  } else {
    const rv = parseRv(q.get('resourceVersion') ?? undefined);
    if (rv !== undefined && rv > store.resourceVersion) {
      throw new ApiError(
        failure(
          504,
          'Timeout',
          `Too large resource version: ${rv}, current: ${store.resourceVersion}`,
          {
            causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
            retryAfterSeconds: 1,
          },
        ),
      );
    }
    if (rv !== undefined && q.get('resourceVersionMatch') === 'Exact') atRv = rv;
  }
  const all = store
    .list(target.type, target.namespace, atRv)
    .filter(match)
    .filter((o) => start === '' || keyOf(o) >= start);
  const page = limit > 0 ? all.slice(0, limit) : all;
  const rest = all.length - page.length;
  const meta: Record<string, unknown> = {};
  if (rest > 0) {
    const last = page[page.length - 1];
    meta.continue = encodeContinue({
      v: 'meta.k8s.io/v1',
      rv: atRv,
      start: `${keyOf(last ?? {})}\u0000`,
    });
    meta.remainingItemCount = rest;
  }
  return listOf(target, page, String(atRv), meta);
}

export function listOf(
  target: Target,
  items: KubeObject[],
  rv: string,
  extra: Record<string, unknown>,
): Record<string, unknown> {
  const { type } = target;
  return {
    kind: type.listKind,
    apiVersion: groupVersion(type.group, target.version),
    metadata: { resourceVersion: rv, ...extra },
    // Typed lists (built-ins) carry no kind/apiVersion on their items; unstructured ones do.
    items: items.map((o) => {
      const shown = present(o, target);
      if (!type.builtin) return shown;
      const { apiVersion: _a, kind: _k, ...rest } = shown;
      return rest;
    }),
  };
}

function keyOf(obj: KubeObject): string {
  return `${String(obj.metadata?.namespace ?? '')}/${String(obj.metadata?.name ?? '')}`;
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeContinue(raw: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as ContinueToken;
    if (typeof parsed.rv === 'number' && typeof parsed.start === 'string') return parsed;
  } catch {
    // reported below
  }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion');
}

/** Objects leave in the version the client asked for. */
export function present(obj: KubeObject, target: Target): KubeObject {
  const { apiVersion: _a, kind: _k, ...rest } = obj;
  return {
    apiVersion: groupVersion(target.type.group, target.version),
    kind: target.type.kind,
    ...rest,
  };
}
