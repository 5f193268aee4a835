// Checks the YAML tree before it becomes data: duplicate keys (the yaml library would report them
// without the key's path) and `__proto__` keys, which some tools treat as the object prototype.
import { isAlias, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import { renderPath } from './paths.js';

export function structureProblems(root: unknown, lines: LineCounter, file: string): string[] {
  const problems: string[] = [];
  const at = (node: unknown): string => {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    if (!range) return file;
    const { line, col } = lines.linePos(range[0]);
    return `${file}:${line}:${col}`;
  };
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (isAlias(node) || node === null || node === undefined) return; // aliases repeat a walked node
    if (isSeq(node)) {
      node.items.forEach((item, index) => walk(item, [...path, index]));
      return;
    }
    if (!isMap(node)) return;
    const seen = new Set<string>();
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const where = `${at(pair.key)}: ${renderPath(path, key)}`;
      if (key === '__proto__') {
        problems.push(`${where}: "__proto__" is not allowed as a key`);
      } else if (seen.has(key)) {
        problems.push(`${where}: duplicate key "${key}"; each key may appear once`);
      }
      seen.add(key);
      walk(pair.value as Node | null, [...path, key]);
    }
  };
  walk(root, []);
  return problems;
}
