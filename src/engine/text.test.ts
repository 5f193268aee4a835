import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shorten } from './text.js';

describe('shorten', () => {
  it('keeps short text and cuts long text at a word boundary', () => {
    expect(shorten('exempt from boot-image', 40)).toBe('exempt from boot-image');
    expect(shorten('exempt from boot-image by system:serviceaccount:x', 30)).toBe(
      'exempt from boot-image by…',
    );
  });

  it('never exceeds the limit nor splits a surrogate pair', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 200 }),
        fc.integer({ min: 4, max: 120 }),
        (text, max) => {
          const out = shorten(text, max);
          expect(out.length).toBeLessThanOrEqual(max);
          expect(out).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
        },
      ),
    );
  });
});
