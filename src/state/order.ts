// One string order for everything the state sorts: code-unit order is the same on every machine
// and locale, unlike localeCompare, so loading and messages are deterministic.

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
