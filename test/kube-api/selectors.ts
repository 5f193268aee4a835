// labelSelector and fieldSelector as the API server parses them (k8s.io/apimachinery labels and
// fields packages): equality (=, ==, !=) and set-based (in, notin, exists, !exists) label
// requirements; field selectors only on the fields a resource supports.
import { badRequest } from './status.js';
import type { KubeObject } from './resources.js';

export type Matcher = (obj: KubeObject) => boolean;

type Labels = Record<string, string>;

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export function labelMatcher(selector: string | null): Matcher {
  if (selector === null || selector.trim() === '') return () => true;
  const requirements = splitTopLevel(selector).map(parseLabelRequirement);
  return (obj) => {
    const labels = (obj.metadata?.labels ?? {}) as Labels;
    return requirements.every((req) => req(labels));
  };
}

function parseLabelRequirement(raw: string): (labels: Labels) => boolean {
  const part = raw.trim();
  const set = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(part);
  if (set) {
    const key = checkKey(set[1] ?? '', raw);
    const values = new Set((set[3] ?? '').split(',').map((v) => v.trim()));
    return set[2] === 'in'
      ? (l) => l[key] !== undefined && values.has(l[key])
      : (l) => l[key] === undefined || !values.has(l[key]);
  }
  const eq = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
  if (eq) {
    const key = checkKey(eq[1] ?? '', raw);
    const value = eq[3] ?? '';
    return eq[2] === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
  }
  if (part.startsWith('!')) {
    const key = checkKey(part.slice(1).trim(), raw);
    return (l) => l[key] === undefined;
  }
  const key = checkKey(part, raw);
  return (l) => l[key] !== undefined;
}

function checkKey(key: string, raw: string): string {
  if (!KEY.test(key)) {
    throw badRequest(`unable to parse requirement: invalid label key "${key}" in "${raw}"`);
  }
  return key;
}

/** Commas separate requirements except inside the parentheses of `in (a,b)`. */
function splitTopLevel(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

/** Field getters per supported field label; every resource has metadata.name and namespace. */
export type FieldGetters = Record<string, (obj: KubeObject) => string>;

export const COMMON_FIELDS: FieldGetters = {
  'metadata.name': (o) => String(o.metadata?.name ?? ''),
  'metadata.namespace': (o) => String(o.metadata?.namespace ?? ''),
};

export function fieldMatcher(selector: string | null, fields: FieldGetters): Matcher {
  if (selector === null || selector.trim() === '') return () => true;
  const requirements = selector.split(',').map((raw) => {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(raw);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${raw}'`);
    const [, field = '', op, value = ''] = m;
    const get = fields[field];
    if (get === undefined) throw badRequest(`field label not supported: ${field}`);
    return op === '!=' ? (o: KubeObject) => get(o) !== value : (o: KubeObject) => get(o) === value;
  });
  return (obj) => requirements.every((req) => req(obj));
}
