// Typed reads of untrusted JSON that name the failing path. Every object goes through
// `expectObject`, which refuses `__proto__` keys, and fields are read with Object.hasOwn, so
// nothing inherited from Object.prototype ever counts as data.

import { isObject } from '../k8s/objects.js';
import { CatalogError } from './errors.js';

export type JsonObject = Record<string, unknown>;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** Path of a child: `a.b` for identifiers, `a["us-east-1"]` otherwise, `a[3]` for indexes. */
export function child(where: string, key: string | number): string {
  if (typeof key === 'number') return `${where}[${key}]`;
  // `__proto__` stays in brackets so a report of the forbidden key is unmistakable.
  if (key !== '__proto__' && IDENTIFIER.test(key)) return where ? `${where}.${key}` : key;
  return `${where}[${JSON.stringify(key)}]`;
}

export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

/** `expected an object, got an array`, or `missing (expected a string)`. */
export function mismatch(expected: string, value: unknown): string {
  return value === undefined
    ? `missing (expected ${expected})`
    : `expected ${expected}, got ${kindOf(value)}`;
}

export function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new CatalogError(where, `invalid JSON (${(err as Error).message})`);
  }
}

export function expectObject(value: unknown, where: string): JsonObject {
  if (!isObject(value)) throw new CatalogError(where, mismatch('an object', value));
  if (Object.hasOwn(value, '__proto__')) {
    throw new CatalogError(child(where, '__proto__'), 'forbidden key');
  }
  return value;
}

export function expectString(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new CatalogError(where, mismatch('a string', value));
  return value;
}

/** An own field; `null` counts as absent (as Go's json.Unmarshal treats it for pointers). */
export function field(obj: JsonObject | undefined, key: string): unknown {
  if (!obj || !Object.hasOwn(obj, key)) return undefined;
  const value = obj[key];
  return value === null ? undefined : value;
}

export function optionalObject(
  obj: JsonObject | undefined,
  key: string,
  where: string,
): JsonObject | undefined {
  const value = field(obj, key);
  return value === undefined ? undefined : expectObject(value, child(where, key));
}

export function optionalString(
  obj: JsonObject | undefined,
  key: string,
  where: string,
): string | undefined {
  const value = field(obj, key);
  return value === undefined ? undefined : expectString(value, child(where, key));
}

export function requiredString(obj: JsonObject, key: string, where: string): string {
  return expectString(field(obj, key), child(where, key));
}

/** Own entries of an object whose values must all be objects (regions, architectures, …). */
export function objectEntries(obj: JsonObject | undefined, where: string): [string, JsonObject][] {
  if (!obj) return [];
  return Object.keys(obj).map((key) => [key, expectObject(obj[key], child(where, key))]);
}
