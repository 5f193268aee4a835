// Go compares strings byte by byte (UTF-8); JavaScript compares UTF-16 code units, which orders
// text with surrogate pairs differently from U+E000..U+FFFF. Paths and names are sorted the way
// the MCO sorts them.

// eslint-disable-next-line no-control-regex
const BELOW_SURROGATES = /^[\u0000-\ud7ff]*$/;

export function compareBytes(a: string, b: string): number {
  if (BELOW_SURROGATES.test(a) && BELOW_SURROGATES.test(b)) {
    // Below U+D800, code unit order and UTF-8 byte order agree.
    return a < b ? -1 : a > b ? 1 : 0;
  }
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
