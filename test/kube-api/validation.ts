// Custom resource validation as the apiextensions-apiserver does it on create and update, over a
// CRD version's openAPIV3Schema: defaults applied, nulls on non-nullable fields and unknown fields
// pruned (or, with fieldValidation=Strict, a 400), then the structural checks (type, enum,
// required, lengths, bounds, pattern) and the CEL rules in x-kubernetes-validations, with oldSelf
// for transition rules on update. Unchanged subtrees are not re-validated on update (ratcheting,
// GA in 1.30). Error texts follow the real ones: `spec.x: Unsupported value: "v": supported
// values: "a", "b"`, `spec: Invalid value: "object": <rule message>`.
import { Environment, Optional } from '@marcbachmann/cel-js';
import { isRecord, type KubeObject } from './resources.js';

type Schema = Record<string, unknown>;

export interface FieldError {
  field: string;
  reason:
    | 'FieldValueInvalid'
    | 'FieldValueNotSupported'
    | 'FieldValueRequired'
    | 'FieldValueTooLong'
    | 'FieldValueTooMany'
    | 'FieldValueForbidden';
  /** The text after the field: `Invalid value: ...`, `Required value`, ... */
  detail: string;
}

export interface ValidationResult {
  /** Status writes validate the status schema alone: messages name paths below `status.`. */
  bodyRoot: string;
  errors: FieldError[];
  /** Fields dropped because the schema does not declare them. */
  unknownFields: string[];
  /** CEL rules that could not be evaluated here (skipped, not failed). */
  skippedRules: string[];
}

/** A named format of Kubernetes' CEL format library: `format.dns1123Subdomain().validate(s)`. */
class Format {
  constructor(
    readonly pattern: RegExp,
    readonly maxLength: number,
    readonly message: string,
  ) {}
}

const DNS1123_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const FORMATS_BY_NAME: Record<string, Format> = {
  dns1123Label: new Format(new RegExp(`^${DNS1123_LABEL}$`), 63, 'a lowercase RFC 1123 label'),
  dns1123Subdomain: new Format(
    new RegExp(`^${DNS1123_LABEL}(\\.${DNS1123_LABEL})*$`),
    253,
    'a lowercase RFC 1123 subdomain',
  ),
  dns1035Label: new Format(/^[a-z]([-a-z0-9]*[a-z0-9])?$/, 63, 'a DNS-1035 label'),
  labelValue: new Format(
    /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/,
    63,
    'a valid label value',
  ),
};

/** The receiver of `format.<name>()`: the library's named formats. */
class Formats {
  readonly names = Object.keys(FORMATS_BY_NAME);
}

const env = new Environment({
  unlistedVariablesAreDyn: true,
  homogeneousAggregateLiterals: false,
  enableOptionalTypes: true,
})
  // Kubernetes' URL library, enough for the isURL checks in the upstream CRDs.
  .registerFunction('isURL(string): bool', (s: string) => URL.canParse(s))
  .registerType('Format', Format)
  .registerType('Formats', Formats)
  .registerConstant('format', 'Formats', new Formats())
  .registerFunction({
    name: 'validate',
    receiverType: 'Format',
    returnType: 'optional<list<string>>',
    params: [{ name: 'value', type: 'string' }],
    handler: (f: Format, value: string) =>
      f.pattern.test(value) && value.length <= f.maxLength
        ? Optional.none()
        : Optional.of([`must be ${f.message}`]),
  });
for (const [name, f] of Object.entries(FORMATS_BY_NAME)) {
  env.registerFunction({
    name,
    receiverType: 'Formats',
    returnType: 'Format',
    params: [],
    handler: () => f,
  });
}
const compiled = new Map<string, (ctx: Record<string, unknown>) => unknown>();

/** Applies defaults and pruning to `obj` in place and returns what is wrong with it. */
export function validateCustomResource(
  schema: Schema,
  obj: KubeObject,
  old: KubeObject | undefined,
  statusOnly = false,
): ValidationResult {
  const result: ValidationResult = {
    bodyRoot: statusOnly ? 'status.' : '',
    errors: [],
    unknownFields: [],
    skippedRules: [],
  };
  const properties = isRecord(schema.properties) ? schema.properties : {};
  for (const [key, sub] of Object.entries(properties)) {
    // The server validates apiVersion, kind and metadata itself.
    if (key === 'apiVersion' || key === 'kind' || key === 'metadata' || !isRecord(sub)) continue;
    if (statusOnly && key !== 'status') continue;
    walk(sub, obj, key, key, old === undefined ? undefined : old[key], old !== undefined, result);
  }
  for (const key of Object.keys(obj)) {
    if (
      !(key in properties) &&
      !['apiVersion', 'kind', 'metadata'].includes(key) &&
      schema['x-kubernetes-preserve-unknown-fields'] !== true
    ) {
      result.unknownFields.push(key);
      Reflect.deleteProperty(obj, key);
    }
  }
  runRules(schema, obj, old, '', old !== undefined, result);
  return result;
}

function inBody(path: string, r: ValidationResult): string {
  return r.bodyRoot !== '' && path.startsWith(r.bodyRoot) ? path.slice(r.bodyRoot.length) : path;
}

/** Validates `parent[key]` against `schema`; `old` is the correlated old value on update. */
function walk(
  schema: Schema,
  parent: Record<string, unknown>,
  key: string,
  path: string,
  old: unknown,
  update: boolean,
  r: ValidationResult,
): void {
  if (parent[key] === undefined && schema.default !== undefined)
    parent[key] = structuredClone(schema.default);
  const value = parent[key];
  if (value === undefined) return;
  if (value === null) {
    if (schema.nullable !== true) Reflect.deleteProperty(parent, key);
    return;
  }
  // Ratcheting: an unchanged value is not validated again on update.
  const unchanged = update && old !== undefined && JSON.stringify(value) === JSON.stringify(old);
  const errorsBefore = r.errors.length;
  if (!typeMatches(schema, value)) {
    r.errors.push({
      field: path,
      reason: 'FieldValueInvalid',
      detail: `Invalid value: "${jsonType(value)}": ${inBody(path, r)} in body must be of type ${String(schema.type)}: "${jsonType(value)}"`,
    });
  } else {
    checkValue(schema, value, path, r);
    if (isRecord(value))
      walkObject(schema, value, path, isRecord(old) ? old : undefined, update, r);
    else if (Array.isArray(value))
      walkArray(schema, value, path, Array.isArray(old) ? old : undefined, update, r);
    runRules(schema, value, old, path, update, r);
  }
  if (unchanged) r.errors.splice(errorsBefore);
}

function walkObject(
  schema: Schema,
  value: Record<string, unknown>,
  path: string,
  old: Record<string, unknown> | undefined,
  update: boolean,
  r: ValidationResult,
): void {
  const properties = isRecord(schema.properties) ? schema.properties : undefined;
  const additional = isRecord(schema.additionalProperties)
    ? schema.additionalProperties
    : undefined;
  const preserve =
    schema['x-kubernetes-preserve-unknown-fields'] === true || schema.additionalProperties === true;
  const embedded = schema['x-kubernetes-embedded-resource'] === true;
  if (properties) {
    for (const [k, sub] of Object.entries(properties)) {
      if (isRecord(sub)) walk(sub, value, k, `${path}.${k}`, old?.[k], update, r);
    }
  }
  for (const k of Object.keys(value)) {
    if (properties && k in properties) continue;
    if (additional) walk(additional, value, k, `${path}[${k}]`, old?.[k], update, r);
    else if (
      !preserve &&
      !(embedded && ['apiVersion', 'kind', 'metadata'].includes(k)) &&
      (properties || schema.type === 'object')
    ) {
      r.unknownFields.push(`${path}.${k}`);
      Reflect.deleteProperty(value, k);
    }
  }
  if (Array.isArray(schema.required)) {
    for (const k of schema.required) {
      if (typeof k === 'string' && value[k] === undefined) {
        r.errors.push({
          field: `${path}.${k}`,
          reason: 'FieldValueRequired',
          detail: 'Required value',
        });
      }
    }
  }
}

function walkArray(
  schema: Schema,
  value: unknown[],
  path: string,
  old: unknown[] | undefined,
  update: boolean,
  r: ValidationResult,
): void {
  if (!isRecord(schema.items)) return;
  const items = schema.items;
  const keys =
    schema['x-kubernetes-list-type'] === 'map' &&
    Array.isArray(schema['x-kubernetes-list-map-keys'])
      ? (schema['x-kubernetes-list-map-keys'] as string[])
      : undefined;
  const holder = value as unknown as Record<string, unknown>;
  for (let i = 0; i < value.length; i++) {
    // Only map lists correlate items with the old list (by their keys), as in the real server.
    const item = value[i];
    const oldItem =
      keys && isRecord(item)
        ? old?.find((o) => isRecord(o) && keys.every((k) => o[k] === item[k]))
        : undefined;
    walk(items, holder, String(i), `${path}[${i}]`, oldItem, update && oldItem !== undefined, r);
  }
  for (let i = value.length - 1; i >= 0; i--) if (value[i] === undefined) value.splice(i, 1);
}

function typeMatches(schema: Schema, value: unknown): boolean {
  if (schema['x-kubernetes-int-or-string'] === true)
    return typeof value === 'string' || Number.isInteger(value);
  switch (schema.type) {
    case 'object':
      return isRecord(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return true;
  }
}

function checkValue(schema: Schema, value: unknown, path: string, r: ValidationResult): void {
  const invalid = (detail: string, reason: FieldError['reason'] = 'FieldValueInvalid') =>
    r.errors.push({ field: path, reason, detail });
  const shown = JSON.stringify(value);
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => JSON.stringify(e) === shown)) {
    invalid(
      `Unsupported value: ${shown}: supported values: ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`,
      'FieldValueNotSupported',
    );
  }
  if (typeof value === 'string') {
    if (typeof schema.maxLength === 'number' && [...value].length > schema.maxLength)
      invalid(`Too long: may not be more than ${schema.maxLength} bytes`, 'FieldValueTooLong');
    if (typeof schema.minLength === 'number' && [...value].length < schema.minLength)
      invalid(
        `Invalid value: ${shown}: ${inBody(path, r)} in body should be at least ${schema.minLength} chars long`,
      );
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value))
      invalid(
        `Invalid value: ${shown}: ${inBody(path, r)} in body should match '${schema.pattern}'`,
      );
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum)
      invalid(
        `Invalid value: ${value}: ${inBody(path, r)} in body should be greater than or equal to ${schema.minimum}`,
      );
    if (typeof schema.maximum === 'number' && value > schema.maximum)
      invalid(
        `Invalid value: ${value}: ${inBody(path, r)} in body should be less than or equal to ${schema.maximum}`,
      );
  }
  if (Array.isArray(value)) {
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems)
      invalid(
        `Too many: ${value.length}: must have at most ${schema.maxItems} items`,
        'FieldValueTooMany',
      );
    if (typeof schema.minItems === 'number' && value.length < schema.minItems)
      invalid(
        `Invalid value: ${value.length}: ${inBody(path, r)} in body should have at least ${schema.minItems} items`,
      );
  }
  if (isRecord(value)) {
    const n = Object.keys(value).length;
    if (typeof schema.maxProperties === 'number' && n > schema.maxProperties)
      invalid(
        `Too many: ${n}: must have at most ${schema.maxProperties} items`,
        'FieldValueTooMany',
      );
    if (typeof schema.minProperties === 'number' && n < schema.minProperties)
      invalid(
        `Invalid value: ${n}: ${inBody(path, r)} in body should have at least ${schema.minProperties} properties`,
      );
  }
}

/** The x-kubernetes-validations of one node. Transition rules (oldSelf) run on update only. */
function runRules(
  schema: Schema,
  value: unknown,
  old: unknown,
  path: string,
  update: boolean,
  r: ValidationResult,
): void {
  const rules = schema['x-kubernetes-validations'];
  if (!Array.isArray(rules)) return;
  for (const rule of rules) {
    if (!isRecord(rule) || typeof rule.rule !== 'string') continue;
    const transition = /\boldSelf\b/.test(rule.rule);
    if (transition && (!update || old === undefined) && rule.optionalOldSelf !== true) continue;
    let fn: (ctx: Record<string, unknown>) => unknown;
    try {
      fn = compile(rule.rule);
    } catch (err) {
      // Syntax this evaluator lacks: skipped and reported, never a false rejection.
      r.skippedRules.push(`${path || '<root>'}: ${rule.rule}: ${firstLine(err)}`);
      continue;
    }
    let ok: unknown;
    try {
      ok = fn({ self: celValue(value), ...(old === undefined ? {} : { oldSelf: celValue(old) }) });
    } catch (err) {
      // A missing key is a runtime error in real CEL too, and fails the rule; anything else may
      // be a function this evaluator lacks.
      if (!/no such key/i.test(firstLine(err))) {
        r.skippedRules.push(`${path || '<root>'}: ${rule.rule}: ${firstLine(err)}`);
        continue;
      }
      ok = false;
    }
    if (ok === true) continue;
    const field = typeof rule.fieldPath === 'string' ? `${path}${rule.fieldPath}` : path;
    const message = typeof rule.message === 'string' ? rule.message : `failed rule: ${rule.rule}`;
    const reason =
      typeof rule.reason === 'string' ? (rule.reason as FieldError['reason']) : 'FieldValueInvalid';
    const detail =
      reason === 'FieldValueRequired'
        ? `Required value: ${message}`
        : reason === 'FieldValueForbidden'
          ? `Forbidden: ${message}`
          : `Invalid value: "${jsonType(value)}": ${message}`;
    r.errors.push({ field: field.replace(/^\./, ''), reason, detail });
  }
}

function compile(rule: string): (ctx: Record<string, unknown>) => unknown {
  let fn = compiled.get(rule);
  if (fn === undefined) {
    fn = env.parse(rule) as unknown as (ctx: Record<string, unknown>) => unknown;
    compiled.set(rule, fn);
  }
  return fn;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

/** JSON to CEL values: integral numbers are CEL ints (BigInt in cel-js). */
function celValue(value: unknown): unknown {
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (Array.isArray(value)) return value.map(celValue);
  if (isRecord(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, celValue(v)]));
  return value;
}

function jsonType(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}
