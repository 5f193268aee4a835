import { describe, expect, it } from 'vitest';
import { BoundedCache } from './cache.js';
import { compareBytes } from './order.js';

describe('BoundedCache', () => {
  it('evicts the least recently used entry past the entry bound', () => {
    const cache = new BoundedCache<number>(2, 1000);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1);
    cache.set('c', 3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    expect(cache.size).toBe(2);
  });

  it('bounds the total key length and skips keys larger than the bound', () => {
    const cache = new BoundedCache<number>(100, 10);
    cache.set('12345', 1);
    cache.set('67890', 2);
    cache.set('abc', 3);
    expect(cache.get('12345')).toBeUndefined();
    expect(cache.get('67890')).toBe(2);
    cache.set('x'.repeat(11), 4);
    expect(cache.get('x'.repeat(11))).toBeUndefined();
  });
});

describe('compareBytes', () => {
  it('orders by UTF-8 bytes like Go', () => {
    // U+FFFD is EF BF BD in UTF-8; U+1F600 is F0 9F 98 80, so it sorts after (UTF-16 says before).
    expect(compareBytes('\u{1F600}', '\uFFFD')).toBeGreaterThan(0);
    expect(compareBytes('Z', 'a')).toBeLessThan(0);
    expect(compareBytes('a', 'a')).toBe(0);
  });
});
