// Applies an RFC 6902 patch with fast-json-patch (validating each operation), never mutating the
// input: the caller's object is the manifest the user wrote.
import fastJsonPatch from 'fast-json-patch';
import type { JsonPatchOperation } from '../engine/types.js';

const { applyPatch, deepClone } = fastJsonPatch;

export function applyJsonPatch<T>(document: T, patch: readonly JsonPatchOperation[]): T {
  const result = applyPatch(
    deepClone(document) as T,
    patch as fastJsonPatch.Operation[],
    true,
    true,
  );
  return result.newDocument;
}
