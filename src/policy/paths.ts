// Paths into a policy document, written the way a user reads them in YAML.

export function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * `spec.rules.known-stream`, `spec.exemptions.users[0]`, `spec["odd key"]`. Ajv's pointers do not
 * say whether a segment is an array index, so digits read as one; `key` is always a mapping key.
 */
export function renderPath(segments: readonly (string | number)[], key?: string): string {
  let out = '';
  for (const segment of segments) {
    out += /^(0|[1-9][0-9]*)$/.test(String(segment))
      ? `[${segment}]`
      : renderKey(String(segment), out);
  }
  if (key !== undefined) out += renderKey(key, out);
  return out === '' ? '(document)' : out;
}

function renderKey(key: string, before: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) return `[${JSON.stringify(key)}]`;
  return before === '' ? key : `.${key}`;
}
