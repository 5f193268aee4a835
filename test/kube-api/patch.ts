// The PATCH content types. JSON merge patch (RFC 7386) and JSON patch (RFC 6902) work on every
// resource, as on the real server. Strategic merge patch works on built-in types only (custom
// resources answer 415, which is why kubectl apply sends merge patches for them): maps merge like
// a merge patch, lists listed in the type's patchMergeKey tags merge item by item, and the
// `$setElementOrder/...`, `$retainKeys` and `$patch` directives kubectl sends are honoured where
// they matter for these types (`$patch: delete` on a list item) and dropped otherwise.
import fastJsonPatch from 'fast-json-patch';
import { isRecord, type KubeObject, type ResourceType } from './resources.js';
import { ApiError, badRequest, failure } from './status.js';

export const MERGE = 'application/merge-patch+json';
export const JSON_PATCH = 'application/json-patch+json';
export const STRATEGIC = 'application/strategic-merge-patch+json';
export const APPLY = 'application/apply-patch+yaml';
const SUPPORTED = [JSON_PATCH, MERGE, STRATEGIC, APPLY];

export function applyPatch(
  type: ResourceType,
  current: KubeObject,
  contentType: string,
  body: string,
): KubeObject {
  const media = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (media === JSON_PATCH) return jsonPatch(current, parse(body, 'json patch'));
  if (media === MERGE) return mergePatch(current, parse(body, 'merge patch')) as KubeObject;
  if (media === STRATEGIC && type.builtin) {
    return strategicMerge(
      current,
      parse(body, 'strategic merge patch'),
      type.mergeKeys,
    ) as KubeObject;
  }
  if (media === STRATEGIC) {
    throw new ApiError(
      failure(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: ${JSON_PATCH}, ${MERGE}, ${APPLY}`,
      ),
    );
  }
  if (media === APPLY) {
    throw new ApiError(
      failure(
        415,
        'UnsupportedMediaType',
        'server-side apply is not implemented by this test server; use a merge or JSON patch',
      ),
    );
  }
  throw new ApiError(
    failure(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${SUPPORTED.join(', ')}`,
    ),
  );
}

function parse(body: string, what: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch (err) {
    throw badRequest(`error decoding ${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function jsonPatch(current: KubeObject, ops: unknown): KubeObject {
  if (!Array.isArray(ops)) throw badRequest('json patch must be a list of operations');
  try {
    return fastJsonPatch.applyPatch(
      structuredClone(current),
      ops as fastJsonPatch.Operation[],
      true,
      false,
    ).newDocument;
  } catch (err) {
    // The real server reports failed tests and missing paths as 422 Invalid.
    const message = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
    throw new ApiError(
      failure(
        422,
        'Invalid',
        `the server rejected our request due to an error in our request: ${message}`,
      ),
    );
  }
}

/** RFC 7386: objects merge recursively, null deletes, everything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isRecord(target) ? structuredClone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) Reflect.deleteProperty(result, k);
    else result[k] = mergePatch(result[k], v);
  }
  return result;
}

function strategicMerge(
  target: unknown,
  patch: unknown,
  listKeys: Record<string, string>,
): unknown {
  if (!isRecord(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isRecord(target) ? structuredClone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue; // directives: $setElementOrder/…, $retainKeys, $patch
    const mergeKey = listKeys[k];
    if (v === null) Reflect.deleteProperty(result, k);
    else if (mergeKey !== undefined && Array.isArray(v))
      result[k] = mergeList(result[k], v, mergeKey);
    else result[k] = strategicMerge(result[k], v, {});
  }
  return result;
}

function mergeList(target: unknown, patch: unknown[], mergeKey: string): unknown[] {
  const result = Array.isArray(target) ? structuredClone(target) : [];
  for (const item of patch) {
    if (!isRecord(item)) continue;
    const at = result.findIndex((r) => isRecord(r) && r[mergeKey] === item[mergeKey]);
    if (item.$patch === 'delete') {
      if (at >= 0) result.splice(at, 1);
    } else if (at >= 0) {
      result[at] = strategicMerge(result[at], item, {});
    } else {
      result.push(strategicMerge({}, item, {}));
    }
  }
  return result;
}
