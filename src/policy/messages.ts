// Turns ajv errors into `FILE: PATH: what is expected` lines a person can act on.
import type { ErrorObject } from 'ajv';
import { pointerSegments, renderPath } from './paths.js';

export function schemaProblems(errors: readonly ErrorObject[], file: string): string[] {
  const byPath = new Map<string, string>();
  for (const error of errors) {
    const [path, message] = describe(error);
    if (!byPath.has(path)) byPath.set(path, message);
  }
  return [...byPath].map(([path, message]) => `${file}: ${path}: ${message}`);
}

function describe(error: ErrorObject): [string, string] {
  const segments = pointerSegments(error.instancePath);
  const schema = (error.parentSchema ?? {}) as Record<string, unknown>;
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const known = Object.keys(properties).join(', ');
  switch (error.keyword) {
    case 'required': {
      const name = String(error.params.missingProperty);
      const constant = properties[name]?.const;
      const hint = constant === undefined ? '' : ` (set it to ${JSON.stringify(constant)})`;
      return [renderPath(segments, name), `is required${hint}`];
    }
    case 'additionalProperties': {
      const name = String(error.params.additionalProperty);
      const isRule = segments.length === 2 && segments[0] === 'spec' && segments[1] === 'rules';
      const what = isRule ? 'unknown rule id' : 'unknown field';
      return [renderPath(segments, name), `${what}; known: ${known}`];
    }
  }
  const path = renderPath(segments);
  if (typeof schema['x-expected'] === 'string') return [path, schema['x-expected']];
  switch (error.keyword) {
    case 'const':
      return [path, `must be ${JSON.stringify(error.params.allowedValue)}`];
    case 'enum':
      return [path, `must be ${oneOf((error.params.allowedValues as unknown[]).map(String))}`];
    case 'type':
      return [path, `must be ${article(String(error.params.type))}`];
    case 'minLength':
      return [path, 'must not be empty'];
    default:
      return [path, error.message ?? `fails ${error.keyword}`];
  }
}

function oneOf(values: string[]): string {
  const unique = [...new Set(values)];
  return unique.length < 2
    ? (unique[0] ?? '')
    : `${unique.slice(0, -1).join(', ')} or ${unique.at(-1) ?? ''}`;
}

function article(type: string): string {
  const names: Record<string, string> = {
    object: 'a mapping',
    array: 'a list',
    string: 'a string',
    boolean: 'true or false',
  };
  return names[type] ?? `of type ${type}`;
}
