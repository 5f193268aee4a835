// Where each loaded object came from, kept beside the objects (not inside them) so messages can
// point at a file and document without the engine's objects carrying extra fields.

import type { KubeObject } from '../k8s/objects.js';

export interface ObjectSource {
  file: string;
  /** 1-based YAML document number within the file. */
  document: number;
  /** 1-based index in the `items` of a List document. */
  item?: number;
}

const sources = new WeakMap<object, ObjectSource>();

export function recordSource(obj: object, source: ObjectSource): void {
  sources.set(obj, source);
}

export function sourceOf(obj: object): ObjectSource | undefined {
  return sources.get(obj);
}

export function formatSource(source: ObjectSource): string {
  const item = source.item === undefined ? '' : `, item ${source.item}`;
  return `${source.file}: document ${source.document}${item}`;
}

/** `ConfigMap ns/name (file: document N)`, for messages about one object. */
export function describeObject(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '(unnamed)';
  const id = `${obj.kind ?? 'object'} ${ns ? `${ns}/` : ''}${name}`;
  const source = sourceOf(obj);
  return source ? `${id} (${formatSource(source)})` : id;
}
