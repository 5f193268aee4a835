// A cheap guard in front of the YAML parser. The yaml library recurses once per nesting level;
// near the stack limit V8 can die while compiling a regular expression ("RegExpCompiler
// Allocation failed - process out of memory"), a fatal error no try/catch sees. So nesting is
// bounded before parsing: flow collections (`[`, `{`) are counted outside quotes and comments.

/** Far above any Kubernetes object or policy, far below what the parser survives. */
export const MAX_FLOW_NESTING = 200;

/** The offset where flow nesting first exceeds `max`, or undefined when it never does. */
export function flowNestingExceeded(text: string, max = MAX_FLOW_NESTING): number | undefined {
  let depth = 0;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (quote === '"') {
      if (c === 0x5c)
        i++; // backslash escape
      else if (c === 0x22) quote = undefined;
      continue;
    }
    if (quote === "'") {
      if (c === 0x27) quote = undefined; // '' re-opens at once: an escaped quote
      continue;
    }
    if (c === 0x22) quote = '"';
    else if (c === 0x27) quote = "'";
    else if (c === 0x23 && (i === 0 || /\s/.test(text[i - 1] ?? ''))) {
      const end = text.indexOf('\n', i);
      if (end < 0) break;
      i = end;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return i;
    } else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
  }
  return undefined;
}
