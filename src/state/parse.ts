// Turns the text of one state file into Kubernetes objects. JSON is parsed as YAML (JSON is a
// subset of YAML 1.2) so both get line:column errors and duplicate-key checks. The result is
// rebuilt as plain JSON data: no YAML-only types, no shared or cyclic aliases, no `__proto__`.

import { parseAllDocuments, type YAMLError } from 'yaml';
import { flowNestingExceeded, MAX_FLOW_NESTING } from '../k8s/nesting.js';
import { isObject, type KubeObject } from '../k8s/objects.js';
import { StateError } from './errors.js';
import { recordSource, type ObjectSource } from './source.js';

const YAML_OPTIONS = {
  schema: 'core',
  // Kubernetes' YAML (go-yaml) honours `<<` merge keys; manifests written by hand use them.
  merge: true,
  uniqueKeys: true,
  stringKeys: true,
  logLevel: 'error',
  prettyErrors: true,
} as const;

/** Bounds alias expansion (billion laughs); the yaml library's own default. */
const MAX_ALIAS_COUNT = 100;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes a file as UTF-8 (a BOM is dropped) and parses it; other encodings are an error. */
export function parseManifestBytes(bytes: Uint8Array, source: string): KubeObject[] {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new StateError(source, `line ${firstBadUtf8Line(bytes)}: not valid UTF-8 text`);
  }
  return parseManifests(text, source);
}

/**
 * Parses multi-document YAML or JSON. Empty documents are skipped; a `List` (or a typed `*List`
 * with `items`) is unwrapped into its items. Throws only StateError.
 */
export function parseManifests(text: string, source: string): KubeObject[] {
  const deep = flowNestingExceeded(text);
  if (deep !== undefined) {
    throw new StateError(
      source,
      `nested more than ${MAX_FLOW_NESTING} levels deep at offset ${deep}; no Kubernetes object is`,
    );
  }
  try {
    const out: KubeObject[] = [];
    parseAllDocuments(text, YAML_OPTIONS).forEach((doc, index) => {
      const document = index + 1;
      const error = doc.errors[0];
      if (error) throw yamlError(source, error);
      const where = `${source}: document ${document}`;
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
      } catch (err) {
        throw new StateError(where, errorText(err));
      }
      if (value === null || value === undefined) return;
      collect(toPlain(value, where), { file: source, document }, out);
    });
    return out;
  } catch (err) {
    if (err instanceof StateError) throw err;
    // Anything else (e.g. a stack overflow on absurd nesting) is still this file's fault.
    throw new StateError(source, `cannot parse: ${errorText(err)}`);
  }
}

function collect(value: unknown, src: ObjectSource, out: KubeObject[]): void {
  const where = `${src.file}: document ${src.document}`;
  const obj = checkObject(value, where);
  const kind = obj.kind as string;
  const items = (obj as Record<string, unknown>).items;
  const isList = kind === 'List' || (kind.endsWith('List') && items !== undefined);
  if (!isList) {
    recordSource(obj, src);
    out.push(obj);
    return;
  }
  if (items === undefined || items === null) return;
  if (!Array.isArray(items)) throw new StateError(where, `${kind}: items must be a list`);
  // A typed list read straight from the API (`NodePoolList`) leaves kind/apiVersion off items.
  const itemKind = kind === 'List' ? undefined : kind.slice(0, -'List'.length);
  items.forEach((item: unknown, i) => {
    const itemSrc = { ...src, item: i + 1 };
    if (itemKind && isObject(item)) {
      item.kind ??= itemKind;
      item.apiVersion ??= obj.apiVersion;
    }
    const child = checkObject(item, `${where}, item ${i + 1}`);
    recordSource(child, itemSrc);
    out.push(child);
  });
}

/** The shape every object needs before the rest of streamguard may read it. */
function checkObject(value: unknown, where: string): KubeObject {
  if (!isObject(value)) {
    throw new StateError(
      where,
      `expected a Kubernetes object (a mapping), found ${typeName(value)}`,
    );
  }
  for (const field of ['kind', 'apiVersion']) {
    const v = value[field];
    if (typeof v !== 'string' || v.trim() === '') {
      throw new StateError(where, `${field} must be a non-empty string`);
    }
  }
  const meta = value.metadata;
  if (meta === undefined || meta === null) return value as KubeObject;
  if (!isObject(meta)) throw new StateError(where, 'metadata must be a mapping');
  for (const field of ['name', 'namespace']) {
    const v = meta[field];
    if (v !== undefined && v !== null && typeof v !== 'string') {
      throw new StateError(where, `metadata.${field} must be a string`);
    }
  }
  for (const field of ['annotations', 'labels']) {
    const map = meta[field];
    if (map === undefined || map === null) continue;
    if (!isObject(map)) throw new StateError(where, `metadata.${field} must be a mapping`);
    for (const [key, v] of Object.entries(map)) {
      if (v !== null && typeof v !== 'string') {
        // Kubernetes rejects these too; an unquoted `true` or `1` is the usual cause.
        throw new StateError(
          where,
          `metadata.${field}["${key}"] must be a string (quote the value in YAML)`,
        );
      }
    }
  }
  return value as KubeObject;
}

/** Copies a parsed value into fresh JSON data, rejecting what JSON (and Kubernetes) cannot hold. */
function toPlain(value: unknown, where: string): unknown {
  const path: string[] = [];
  const ancestors = new Set<object>();
  const at = (): string => (path.length ? ` at ${path.join('.')}` : '');
  const copy = (v: unknown): unknown => {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new StateError(where, `${v} is not a JSON number${at()}`);
      return v;
    }
    if (typeof v !== 'object') throw new StateError(where, `unsupported ${typeof v} value${at()}`);
    if (ancestors.has(v)) throw new StateError(where, `alias refers to itself${at()}`);
    const isArray = Array.isArray(v);
    if (!isArray && Object.getPrototypeOf(v) !== Object.prototype) {
      // `!!binary`, `!!timestamp`, `!!set`, `!!omap` and the like.
      throw new StateError(where, `YAML type ${typeName(v)} is not JSON data${at()}`);
    }
    ancestors.add(v);
    let result: unknown;
    if (isArray) {
      result = v.map((item, i) => {
        path.push(String(i));
        const c = copy(item);
        path.pop();
        return c;
      });
    } else {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(v)) {
        // An own `__proto__` key is a prototype-pollution trap for any later merge or patch.
        if (key === '__proto__') {
          throw new StateError(where, `key "__proto__" is not allowed${at()}`);
        }
        path.push(key);
        out[key] = copy(item);
        path.pop();
      }
      result = out;
    }
    ancestors.delete(v);
    return result;
  };
  return copy(value);
}

function yamlError(source: string, error: YAMLError): StateError {
  const firstLine = error.message.split('\n')[0] ?? error.message;
  const message = firstLine.replace(/ at line \d+, column \d+:?$/, '');
  const pos = error.linePos?.[0];
  return new StateError(pos ? `${source}:${pos.line}:${pos.col}` : source, message);
}

function firstBadUtf8Line(bytes: Uint8Array): number {
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] !== 0x0a) continue;
    try {
      utf8.decode(bytes.subarray(start, i));
    } catch {
      return line;
    }
    line++;
    start = i + 1;
  }
  return line;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return `a ${typeof value}`;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0] || err.name : String(err);
}
